"""User-group lookups, always within one owner account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.groups.errors import GroupNotFound
from iam_svc.groups.models import group_members, groups
from iam_svc.users.models import sub_users


async def get_group(session: AsyncSession, owner_uin: str, group_id: int, *,
                    lock: bool = False) -> Row[Any]:
    query = select(groups).where((groups.c.owner_uin == owner_uin)
                                 & (groups.c.group_id == group_id))
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise GroupNotFound(f"user group {group_id} does not exist in this account")
    return row


async def member_uins(session: AsyncSession, group_id: int) -> list[str]:
    rows = await session.execute(
        select(sub_users.c.uin).join(group_members, group_members.c.uid == sub_users.c.uid)
        .where(group_members.c.group_id == group_id).order_by(sub_users.c.uin))
    return [uin for (uin,) in rows]
