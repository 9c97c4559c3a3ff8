"""User-group rules (ACC-REQ-3). Membership changes publish `iam.policy.changed`: they change
the members' effective policies.

Limits (CAM-like, chosen here): MAX_GROUPS per account, MAX_GROUPS_PER_USER per sub-user,
MAX_BATCH (50) memberships per AddUserToGroup / RemoveUserFromGroup call. Batches are
all-or-nothing: every entry is checked before anything changes. Adding an existing member or
removing a non-member changes nothing and is not an error.
"""

from __future__ import annotations

from typing import Any

from kit.clock import iso
from kit.errors import InvalidParameter, MissingParameter
from sqlalchemy import Row, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.accounts.service import get_account
from iam_svc.common.errors import LimitExceeded
from iam_svc.common.work import Work
from iam_svc.groups.errors import GroupNameInUse
from iam_svc.groups.models import group_members, groups
from iam_svc.groups.repository import get_group, member_uins
from iam_svc.groups.schemas import CreateGroupIn, GroupIdOfUidInfo
from iam_svc.policies.events import policy_changed
from iam_svc.policies.models import group_policies
from iam_svc.policies.service import hold_attached_policies
from iam_svc.users import repository as users

MAX_GROUPS = 300
MAX_GROUPS_PER_USER = 10


def group_view(row: Row[Any]) -> dict[str, Any]:
    return {"group_id": row.group_id, "group_name": row.group_name,
            "create_time": iso(row.created_at), "remark": row.remark}


async def create_group(work: Work, owner_uin: str, body: CreateGroupIn) -> dict[str, Any]:
    await get_account(work.session, owner_uin, lock=True)
    taken = (await work.session.execute(select(groups.c.group_id).where(
        (groups.c.owner_uin == owner_uin) & (groups.c.group_name == body.group_name)))).first()
    if taken is not None:
        raise GroupNameInUse(f"a user group named {body.group_name!r} already exists",
                             details={"field": "group_name"})
    count = (await work.session.execute(select(func.count()).select_from(groups)
                                        .where(groups.c.owner_uin == owner_uin))).scalar_one()
    if count >= MAX_GROUPS:
        raise LimitExceeded(f"an account has at most {MAX_GROUPS} user groups",
                            code="InvalidParameter.GroupFull")
    result = await work.session.execute(insert(groups).values(
        owner_uin=owner_uin, group_name=body.group_name, remark=body.remark,
        created_at=work.now()).returning(groups.c.group_id))
    return {"group_id": result.scalar_one()}


async def list_groups(session: AsyncSession, owner_uin: str, page: int, rp: int,
                      keyword: str | None) -> dict[str, Any]:
    where = groups.c.owner_uin == owner_uin
    if keyword:
        where &= groups.c.group_name.contains(keyword, autoescape=True)
    total = (await session.execute(select(func.count()).select_from(groups).where(where)))
    rows = await session.execute(select(groups).where(where).order_by(groups.c.group_id)
                                 .offset((page - 1) * rp).limit(rp))
    return {"total_num": total.scalar_one(), "group_info": [group_view(r) for r in rows]}


async def _resolve(session: AsyncSession, owner_uin: str,
                   info: list[GroupIdOfUidInfo]) -> list[tuple[Row[Any], Row[Any]]]:
    """The (group, sub-user) pairs of a batch, deduplicated, with every sub-user and group
    involved locked. Locks are taken in one order (sub-users by uid, then groups by id) whatever
    the order of the batch, so concurrent batches cannot deadlock; the sub-user's lock
    serialises the per-user group limit and DeleteUser, the group's lock DeleteGroup."""
    wanted: list[tuple[int, int]] = []
    for index, item in enumerate(info):
        if item.uid is None and item.uin is None:
            raise MissingParameter(f"info[{index}]: give the sub-user's uid or uin",
                                   details={"field": f"info[{index}].uin"})
        group = await get_group(session, owner_uin, item.group_id)
        user = (await users.by_uin(session, owner_uin, item.uin) if item.uin is not None
                else await users.by_uid(session, owner_uin, item.uid))  # type: ignore[arg-type]
        if item.uid is not None and user.uid != item.uid:
            raise InvalidParameter(f"info[{index}]: uid {item.uid} and uin {item.uin} are "
                                   "different sub-users", details={"field": f"info[{index}]"})
        wanted.append((group.group_id, user.uid))
    # Re-read under the locks: a sub-user or group deleted meanwhile is not found (404).
    locked_users = {uid: await users.by_uid(session, owner_uin, uid, lock=True)
                    for uid in sorted({uid for _, uid in wanted})}
    locked_groups = {gid: await get_group(session, owner_uin, gid, lock=True)
                     for gid in sorted({gid for gid, _ in wanted})}
    return [(locked_groups[gid], locked_users[uid]) for gid, uid in dict.fromkeys(wanted)]


async def _is_member(session: AsyncSession, group_id: int, uid: int) -> bool:
    return (await session.execute(select(group_members.c.uid).where(
        (group_members.c.group_id == group_id) & (group_members.c.uid == uid)))).first() is not None


async def add_users_to_group(work: Work, owner_uin: str, info: list[GroupIdOfUidInfo]) -> None:
    pairs = await _resolve(work.session, owner_uin, info)
    new = [(g, u) for g, u in pairs if not await _is_member(work.session, g.group_id, u.uid)]
    per_user: dict[int, int] = {}
    for _, user in new:
        per_user[user.uid] = per_user.get(user.uid, 0) + 1
    for uid, added in per_user.items():
        current = (await work.session.execute(select(func.count()).select_from(group_members)
                                              .where(group_members.c.uid == uid))).scalar_one()
        if current + added > MAX_GROUPS_PER_USER:
            raise LimitExceeded(f"a sub-user joins at most {MAX_GROUPS_PER_USER} user groups",
                                code="InvalidParameter.UserGroupFull")
    now = work.now()
    for group, user in new:
        await work.session.execute(insert(group_members).values(
            group_id=group.group_id, uid=user.uid, joined_at=now))
        await work.emit(policy_changed(work, owner_uin, "member_added", group_id=group.group_id,
                                       sub_uin=user.uin))


async def remove_users_from_group(work: Work, owner_uin: str,
                                  info: list[GroupIdOfUidInfo]) -> None:
    for group, user in await _resolve(work.session, owner_uin, info):
        result = await work.session.execute(delete(group_members).where(
            (group_members.c.group_id == group.group_id) & (group_members.c.uid == user.uid)))
        if result.rowcount:
            await work.emit(policy_changed(work, owner_uin, "member_removed",
                                           group_id=group.group_id, sub_uin=user.uin))


async def delete_group(work: Work, owner_uin: str, group_id: int) -> None:
    group = await get_group(work.session, owner_uin, group_id, lock=True)
    await hold_attached_policies(work.session, group_policies, group_policies.c.group_id,
                                 group.group_id)
    affected = await member_uins(work.session, group.group_id)
    await work.session.execute(delete(group_members).where(
        group_members.c.group_id == group.group_id))
    await work.session.execute(delete(group_policies).where(
        group_policies.c.group_id == group.group_id))
    await work.session.execute(delete(groups).where(groups.c.group_id == group.group_id))
    await work.emit(policy_changed(work, owner_uin, "group_deleted", group_id=group.group_id,
                                   affected_sub_uins=affected))
