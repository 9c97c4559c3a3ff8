"""CAM policy rules: custom policies, presets, attachments, effective policies (ACC-REQ-3,
CAM-REQ-1..4).

- Custom policies belong to one account; presets (`iam_svc.policies.presets`) to none
  (`owner_uin` NULL), are visible to every account, cannot be deleted, and are synced from
  code on every start.
- Documents are validated with `parse_policy`; a malformed one is refused with
  `InvalidParameter.PolicyDocument` and the parser's message. The text is stored as given.
- Limits (CAM-like, chosen here): MAX_CUSTOM_POLICIES per account, MAX_ATTACHED policies
  attached directly to one sub-user or one group. Attaching twice or detaching what is not
  attached changes nothing and is not an error.
- Deleting a custom policy detaches it everywhere first.
- Every change publishes `iam.policy.changed` naming the sub-users whose effective policies
  it may change.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from kit.clock import iso
from sqlalchemy import (
    BigInteger,
    Row,
    cast,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.accounts.service import get_account
from iam_svc.common.errors import LimitExceeded
from iam_svc.common.work import Runner, Work
from iam_svc.groups.models import group_members, groups
from iam_svc.groups.repository import get_group, member_uins
from iam_svc.policies.document import CompiledPolicy, PolicyDocumentError, parse_policy
from iam_svc.policies.errors import (
    InvalidPolicyDocument,
    PolicyNameInUse,
    PolicyNotFound,
    PresetPolicyReadOnly,
    StoredPolicyUnreadable,
)
from iam_svc.policies.events import policy_changed
from iam_svc.policies.models import group_policies, policies, user_policies
from iam_svc.policies.presets import PRESET_POLICIES
from iam_svc.policies.schemas import CreatePolicyIn
from iam_svc.users import repository as users
from iam_svc.users.models import sub_users

MAX_CUSTOM_POLICIES = 1500
MAX_ATTACHED = 200
CUSTOM, PRESET = "custom", "preset"
TYPE_CODE = {CUSTOM: 1, PRESET: 2}  # CAM: 1 custom, 2 preset
CREATE_MODE_SYNTAX = 2  # CAM: created from policy syntax


def _visible(owner_uin: str) -> Any:
    return or_(policies.c.owner_uin == owner_uin, policies.c.owner_uin.is_(None))


async def get_visible_policy(session: AsyncSession, owner_uin: str, policy_id: int, *,
                             lock: str | None = None) -> Row[Any]:
    """`lock`: "attach" takes FOR KEY SHARE (an attachment in progress holds off a concurrent
    DeletePolicy, not other attachments nor a preset's update); "delete" takes FOR UPDATE
    (waits for attachments in progress, then sees them)."""
    query = select(policies).where((policies.c.policy_id == policy_id) & _visible(owner_uin))
    if lock == "attach":
        query = query.with_for_update(read=True, key_share=True)
    elif lock == "delete":
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise PolicyNotFound(f"policy {policy_id} does not exist")
    return row


def _check_document(document: Any) -> str:
    if not isinstance(document, str):
        raise InvalidPolicyDocument("policy_document must be the policy's JSON text (a string)",
                                    details={"field": "policy_document"})
    try:
        parse_policy(document)
    except PolicyDocumentError as exc:
        raise InvalidPolicyDocument(exc.message, details={"field": "policy_document"}) from None
    return document


async def create_policy(work: Work, owner_uin: str, body: CreatePolicyIn) -> dict[str, Any]:
    document = _check_document(body.policy_document)
    await get_account(work.session, owner_uin, lock=True)
    if body.policy_name in PRESET_POLICIES:
        raise PolicyNameInUse(f"{body.policy_name!r} is the name of a preset policy",
                              details={"field": "policy_name"})
    taken = (await work.session.execute(select(policies.c.policy_id).where(
        (policies.c.owner_uin == owner_uin) & (policies.c.policy_name == body.policy_name)
    ))).first()
    if taken is not None:
        raise PolicyNameInUse(f"a policy named {body.policy_name!r} already exists",
                              details={"field": "policy_name"})
    count = (await work.session.execute(select(func.count()).select_from(policies)
                                        .where(policies.c.owner_uin == owner_uin))).scalar_one()
    if count >= MAX_CUSTOM_POLICIES:
        raise LimitExceeded(f"an account has at most {MAX_CUSTOM_POLICIES} custom policies",
                            code="FailedOperation.PolicyFull")
    now = work.now()
    policy_id = (await work.session.execute(insert(policies).values(
        owner_uin=owner_uin, policy_type=CUSTOM, policy_name=body.policy_name,
        description=body.description, document=document, created_at=now, updated_at=now,
    ).returning(policies.c.policy_id))).scalar_one()
    await work.emit(policy_changed(work, owner_uin, "created", policy_id=policy_id))
    return {"policy_id": policy_id}


async def get_policy(session: AsyncSession, owner_uin: str, policy_id: int) -> dict[str, Any]:
    row = await get_visible_policy(session, owner_uin, policy_id)
    return {"policy_name": row.policy_name, "description": row.description,
            "type": TYPE_CODE[row.policy_type], "add_time": iso(row.created_at),
            "update_time": iso(row.updated_at), "policy_document": row.document,
            "preset_alias": row.description if row.policy_type == PRESET else None}


async def _attachment_counts(session: AsyncSession, owner_uin: str,
                             ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    direct = (select(user_policies.c.policy_id, func.count().label("n"))
              .join(sub_users, sub_users.c.uid == user_policies.c.uid)
              .where((sub_users.c.owner_uin == owner_uin) & user_policies.c.policy_id.in_(ids))
              .group_by(user_policies.c.policy_id))
    grouped = (select(group_policies.c.policy_id, func.count().label("n"))
               .join(groups, groups.c.group_id == group_policies.c.group_id)
               .where((groups.c.owner_uin == owner_uin) & group_policies.c.policy_id.in_(ids))
               .group_by(group_policies.c.policy_id))
    counts: dict[int, int] = {}
    for query in (direct, grouped):
        for policy_id, n in await session.execute(query):
            counts[policy_id] = counts.get(policy_id, 0) + n
    return counts


async def list_policies(session: AsyncSession, owner_uin: str, page: int, rp: int, scope: str,
                        keyword: str | None) -> dict[str, Any]:
    where = {"All": _visible(owner_uin), "QCS": policies.c.owner_uin.is_(None),
             "Local": policies.c.owner_uin == owner_uin}[scope]
    if keyword:
        where &= policies.c.policy_name.contains(keyword, autoescape=True)
    total = (await session.execute(select(func.count()).select_from(policies).where(where)))
    rows = (await session.execute(select(policies).where(where).order_by(policies.c.policy_id)
                                  .offset((page - 1) * rp).limit(rp))).all()
    counts = await _attachment_counts(session, owner_uin, [r.policy_id for r in rows])
    return {"total_num": total.scalar_one(), "list": [
        {"policy_id": r.policy_id, "policy_name": r.policy_name, "add_time": iso(r.created_at),
         "type": TYPE_CODE[r.policy_type], "description": r.description,
         "create_mode": CREATE_MODE_SYNTAX, "attachments": counts.get(r.policy_id, 0)}
        for r in rows]}


async def _holders(session: AsyncSession, policy_id: int) -> tuple[list[str], list[int]]:
    """Sub-users with the policy attached directly, and groups with it attached."""
    direct = [uin for (uin,) in await session.execute(
        select(sub_users.c.uin).join(user_policies, user_policies.c.uid == sub_users.c.uid)
        .where(user_policies.c.policy_id == policy_id))]
    group_ids = [gid for (gid,) in await session.execute(
        select(group_policies.c.group_id).where(group_policies.c.policy_id == policy_id))]
    return direct, group_ids


async def delete_policies(work: Work, owner_uin: str, policy_ids: Iterable[int]) -> None:
    """Delete custom policies, all or none (CAM's batch DeletePolicy)."""
    ids = list(dict.fromkeys(policy_ids))
    rows = [await get_visible_policy(work.session, owner_uin, pid) for pid in ids]
    for row in rows:
        if row.policy_type == PRESET:
            raise PresetPolicyReadOnly(f"policy {row.policy_id} ({row.policy_name}) is a preset "
                                       "policy and cannot be deleted")
    # Lock the policies (in id order: no deadlock between batches), so an AttachUserPolicy or
    # AttachGroupPolicy in progress finishes first and its attachment is detached below, and
    # one starting later finds no policy (404) instead of leaving a dangling attachment.
    locked = {pid: await get_visible_policy(work.session, owner_uin, pid, lock="delete")
              for pid in sorted(ids)}
    rows = [locked[pid] for pid in ids]
    for row in rows:
        direct, group_ids = await _holders(work.session, row.policy_id)
        affected = set(direct)
        for group_id in group_ids:
            affected |= set(await member_uins(work.session, group_id))
        await work.session.execute(delete(user_policies).where(
            user_policies.c.policy_id == row.policy_id))
        await work.session.execute(delete(group_policies).where(
            group_policies.c.policy_id == row.policy_id))
        await work.session.execute(delete(policies).where(policies.c.policy_id == row.policy_id))
        await work.emit(policy_changed(work, owner_uin, "deleted", policy_id=row.policy_id,
                                       affected_sub_uins=affected))


async def hold_attached_policies(session: AsyncSession, link: Any, column: Any,
                                 key: int) -> None:
    """Before deleting a sub-user or group (already locked) with its attachments: take the
    attach lock (FOR KEY SHARE) on its attached policies, in id order. DeletePolicy takes
    FOR UPDATE on its policies in id order before touching attachments, so the two wait for
    each other on the policies instead of deadlocking on the attachment rows."""
    await session.execute(
        select(policies.c.policy_id)
        .where(policies.c.policy_id.in_(select(link.c.policy_id).where(column == key)))
        .order_by(policies.c.policy_id).with_for_update(read=True, key_share=True))


async def _check_attach_limit(session: AsyncSession, table: Any, column: Any, key: int,
                              what: str) -> None:
    count = (await session.execute(select(func.count()).select_from(table)
                                   .where(column == key))).scalar_one()
    if count >= MAX_ATTACHED:
        raise LimitExceeded(f"a {what} has at most {MAX_ATTACHED} policies attached",
                            code="InvalidParameter.AttachmentFull")


async def attach_user_policy(work: Work, owner_uin: str, sub_uin: str, policy_id: int) -> None:
    user = await users.by_uin(work.session, owner_uin, sub_uin, lock=True)
    await get_visible_policy(work.session, owner_uin, policy_id, lock="attach")
    where = (user_policies.c.uid == user.uid) & (user_policies.c.policy_id == policy_id)
    if (await work.session.execute(select(user_policies).where(where))).first() is not None:
        return
    await _check_attach_limit(work.session, user_policies, user_policies.c.uid, user.uid,
                              "sub-user")
    await work.session.execute(insert(user_policies).values(
        uid=user.uid, policy_id=policy_id, attached_at=work.now()))
    await work.emit(policy_changed(work, owner_uin, "attached", policy_id=policy_id,
                                   sub_uin=user.uin))


async def detach_user_policy(work: Work, owner_uin: str, sub_uin: str, policy_id: int) -> None:
    user = await users.by_uin(work.session, owner_uin, sub_uin, lock=True)
    await get_visible_policy(work.session, owner_uin, policy_id)
    result = await work.session.execute(delete(user_policies).where(
        (user_policies.c.uid == user.uid) & (user_policies.c.policy_id == policy_id)))
    if result.rowcount:
        await work.emit(policy_changed(work, owner_uin, "detached", policy_id=policy_id,
                                       sub_uin=user.uin))


async def attach_group_policy(work: Work, owner_uin: str, group_id: int, policy_id: int) -> None:
    group = await get_group(work.session, owner_uin, group_id, lock=True)
    await get_visible_policy(work.session, owner_uin, policy_id, lock="attach")
    where = (group_policies.c.group_id == group_id) & (group_policies.c.policy_id == policy_id)
    if (await work.session.execute(select(group_policies).where(where))).first() is not None:
        return
    await _check_attach_limit(work.session, group_policies, group_policies.c.group_id,
                              group.group_id, "user group")
    await work.session.execute(insert(group_policies).values(
        group_id=group_id, policy_id=policy_id, attached_at=work.now()))
    await work.emit(policy_changed(work, owner_uin, "attached", policy_id=policy_id,
                                   group_id=group_id,
                                   affected_sub_uins=await member_uins(work.session, group_id)))


async def detach_group_policy(work: Work, owner_uin: str, group_id: int, policy_id: int) -> None:
    await get_group(work.session, owner_uin, group_id, lock=True)
    await get_visible_policy(work.session, owner_uin, policy_id)
    result = await work.session.execute(delete(group_policies).where(
        (group_policies.c.group_id == group_id) & (group_policies.c.policy_id == policy_id)))
    if result.rowcount:
        await work.emit(policy_changed(
            work, owner_uin, "detached", policy_id=policy_id, group_id=group_id,
            affected_sub_uins=await member_uins(work.session, group_id)))


def _attached_query(uid: int, attach_type: int) -> Any:
    """(policy_id, group_id or NULL) rows: direct (0 or 1) and through groups (0 or 2)."""
    direct = select(user_policies.c.policy_id.label("policy_id"),
                    cast(null(), BigInteger).label("group_id")).where(user_policies.c.uid == uid)
    via_group = (select(group_policies.c.policy_id.label("policy_id"),
                        group_policies.c.group_id.label("group_id"))
                 .join(group_members, group_members.c.group_id == group_policies.c.group_id)
                 .where(group_members.c.uid == uid))
    if attach_type == 1:
        return direct
    if attach_type == 2:
        return via_group
    return union(direct, via_group)


async def list_attached_user_all_policies(
    session: AsyncSession, owner_uin: str, target_uin: str, page: int, rp: int,
    attach_type: int, strategy_type: int | None, keyword: str | None,
) -> dict[str, Any]:
    user = await users.by_uin(session, owner_uin, target_uin)
    links = _attached_query(user.uid, attach_type).subquery()
    rows = (await session.execute(
        select(links.c.policy_id, links.c.group_id, groups.c.group_name)
        .outerjoin(groups, groups.c.group_id == links.c.group_id))).all()
    via: dict[int, list[dict[str, Any]]] = {}
    for policy_id, group_id, group_name in rows:
        entry = via.setdefault(policy_id, [])
        if group_id is not None:
            entry.append({"group_id": group_id, "group_name": group_name})
    where = policies.c.policy_id.in_(list(via))
    if strategy_type is not None:
        where &= policies.c.policy_type == (CUSTOM if strategy_type == 1 else PRESET)
    if keyword:
        where &= policies.c.policy_name.contains(keyword, autoescape=True)
    total = (await session.execute(select(func.count()).select_from(policies).where(where)))
    page_rows = await session.execute(select(policies).where(where)
                                      .order_by(policies.c.policy_id)
                                      .offset((page - 1) * rp).limit(rp))
    return {"total_num": total.scalar_one(), "policy_list": [
        {"policy_id": str(r.policy_id), "policy_name": r.policy_name,
         "description": r.description, "add_time": iso(r.created_at),
         "strategy_type": str(TYPE_CODE[r.policy_type]), "create_mode": str(CREATE_MODE_SYNTAX),
         "groups": sorted(via[r.policy_id], key=lambda g: g["group_id"]), "deactived": 0}
        for r in page_rows]}


async def effective_policies(session: AsyncSession, owner_uin: str,
                             sub_uin: str | None) -> list[Row[Any]]:
    """Direct and group-inherited policies of a principal, deduplicated, by policy id.
    The root account has none: it may do everything in its own account."""
    if sub_uin is None:
        return []
    user = await users.by_uin(session, owner_uin, sub_uin)
    links = _attached_query(user.uid, 0).subquery()
    return list((await session.execute(
        select(policies.c.policy_id, policies.c.document)
        .where(policies.c.policy_id.in_(select(links.c.policy_id)))
        .order_by(policies.c.policy_id))).all())


@lru_cache(maxsize=4096)
def compiled(policy_id: str, document: str) -> CompiledPolicy:
    """Parsed documents, cached by id and text (a changed text is a new entry)."""
    try:
        return parse_policy(document, policy_id=policy_id)
    except PolicyDocumentError as exc:
        raise StoredPolicyUnreadable(f"stored policy {policy_id} does not parse: "
                                     f"{exc.message}") from None


async def sync_presets(runner: Runner) -> None:
    """Insert missing presets and update changed ones (startup hook). Safe in several
    replicas at once: a preset inserted concurrently is left to the replica that won."""
    for preset in PRESET_POLICIES.values():
        try:
            async with runner.runtime.db.transaction() as session:
                work = runner.work(session)
                row = (await session.execute(select(policies).where(
                    policies.c.owner_uin.is_(None)
                    & (policies.c.policy_name == preset.name)))).first()
                text = preset.policy.text
                now = work.now()
                if row is None:
                    await session.execute(insert(policies).values(
                        owner_uin=None, policy_type=PRESET, policy_name=preset.name,
                        description=preset.description, document=text, created_at=now,
                        updated_at=now))
                elif row.document != text or row.description != preset.description:
                    await session.execute(update(policies)
                                          .where(policies.c.policy_id == row.policy_id)
                                          .values(document=text, description=preset.description,
                                                  updated_at=now))
                    await work.emit(policy_changed(work, None, "preset_updated",
                                                   policy_id=row.policy_id))
        except IntegrityError:
            continue
