"""The accounts read model: applying iam-svc's snapshots, and the invoicing preconditions
(INV-REQ-8 / ACC-REQ-4 international site, INV-REQ-10 verified and complete)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kit.clock import utc
from kit.errors import AppError, FailedOperation
from kit.messaging import CloudEvent
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.accounts.events_in import ACCOUNT_RENAMED, AccountSnapshot
from invoice_svc.accounts.models import account_profiles
from invoice_svc.common.sql import upsert_insert

P = account_profiles


class InternationalSite(AppError):
    status = 409
    code = "UnsupportedOperation.InternationalSite"


class AccountNotVerified(FailedOperation):
    code = "FailedOperation.AccountNotVerified"


class AccountInfoIncomplete(FailedOperation):
    code = "FailedOperation.AccountInfoIncomplete"


async def apply_snapshot(session: AsyncSession, event: CloudEvent, data: AccountSnapshot,
                         now: datetime) -> None:
    """Keep the newest snapshot: an older event arriving late changes nothing."""
    at = utc(event.time)
    values: dict[str, Any] = {
        "uin": data.uin, "site": data.resolved_site,
        "verification_type": data.verification_type, "legal_name": data.current_name,
        "uscc": data.uscc, "verified_at": utc(data.verified_at) if data.verified_at else None,
        "snapshot_at": at, "updated_at": now,
    }
    if event.type == ACCOUNT_RENAMED:
        values["name_effective_at"] = utc(data.effective(at))
    stmt = upsert_insert(session, P).values(**values)
    update_set = {k: getattr(stmt.excluded, k) for k in values if k != "uin"}
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[P.c.uin], set_=update_set,
        where=P.c.snapshot_at <= stmt.excluded.snapshot_at))


async def load_profile(session: AsyncSession, uin: str) -> Row[Any] | None:
    return (await session.execute(select(P).where(P.c.uin == uin))).first()


def require_invoicing_allowed(profile: Row[Any] | None) -> Row[Any]:
    """Refuse what the provider does not invoice, with where to go instead."""
    if profile is None:
        raise AccountInfoIncomplete(
            "账户信息不完整：尚未收到该账号的账户与实名认证信息，请先完善账户信息并完成实名认证后再开票"
            " (account information incomplete: complete it and the real-name verification)")
    if profile.site != "mainland":
        raise InternationalSite(
            "国际站（中国港澳台及境外）账号不开具中国增值税发票；如需发票，请提交工单联系客服处理"
            " (international-site accounts get no China VAT invoice here: submit a ticket to"
            " customer service for a commercial invoice)")
    if profile.verification_type not in ("personal", "enterprise", "organization"):
        raise AccountNotVerified(
            "账号尚未完成实名认证，请先完成实名认证后再开票"
            " (the account is not real-name verified)")
    if not profile.legal_name or (
            profile.verification_type in ("enterprise", "organization") and not profile.uscc):
        raise AccountInfoIncomplete(
            "账户信息不完整：实名认证名称或统一社会信用代码缺失，请先完善账户信息"
            " (the real-name name or the unified social credit code is missing)")
    return profile
