"""CAM decisions (CAM-REQ-2): the evaluation itself is `iam_svc.policies`' (explicit deny
beats allow, no matching allow denies, the root may do everything in its own account, nobody
reaches another account); this module loads a principal's policies and exposes it.

When the request context has no `qcs:current_time`, the service's clock supplies it, so time
conditions (CAM-REQ-5) hold without the caller sending the time.
"""

from __future__ import annotations

from typing import Any

from kit.clock import Clock
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.accounts.models import accounts
from iam_svc.common.errors import UserNotFound
from iam_svc.decisions.schemas import DecisionIn
from iam_svc.policies.evaluator import CallerPolicies, Principal, Request
from iam_svc.policies.service import compiled, effective_policies

CURRENT_TIME_KEY = "qcs:current_time"


async def principal_policies(session: AsyncSession, owner_uin: str,
                             sub_uin: str | None) -> dict[str, Any]:
    """Direct and group-inherited policies of a principal (404 `ResourceNotFound.User` for an
    unknown account or sub-user)."""
    exists = (await session.execute(select(accounts.c.uin).where(accounts.c.uin == owner_uin)))
    if exists.first() is None:
        raise UserNotFound(f"account {owner_uin} does not exist")
    rows = await effective_policies(session, owner_uin, sub_uin)
    return {"owner_uin": owner_uin, "sub_uin": sub_uin, "is_root": sub_uin is None,
            "policies": [{"policy_id": str(r.policy_id), "document": r.document} for r in rows]}


async def decide(session: AsyncSession, clock: Clock, body: DecisionIn) -> dict[str, Any]:
    loaded = await principal_policies(session, body.owner_uin, body.sub_uin)
    principal = Principal(body.owner_uin, body.sub_uin)
    caller = CallerPolicies(principal, [compiled(p["policy_id"], p["document"])
                                        for p in loaded["policies"]])
    context = dict(body.context)
    context.setdefault(CURRENT_TIME_KEY, clock.now())
    decision = caller.decide(Request(body.action, body.resource, context))
    matched = decision.matched_statement
    return {"allowed": decision.allowed, "reason": decision.reason,
            "matched_statement": None if matched is None else {
                "policy_id": matched.policy_id, "statement_index": matched.statement_index,
                "effect": matched.effect}}
