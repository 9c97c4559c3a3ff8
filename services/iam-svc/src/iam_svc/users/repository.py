"""Sub-user lookups, always within one owner account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.common.errors import UserNotFound
from iam_svc.users.models import sub_users


async def _one(session: AsyncSession, where: Any, what: str, lock: bool) -> Row[Any]:
    query = select(sub_users).where(where)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise UserNotFound(f"sub-user {what} does not exist in this account")
    return row


async def by_name(session: AsyncSession, owner_uin: str, name: str, *,
                  lock: bool = False) -> Row[Any]:
    return await _one(session, (sub_users.c.owner_uin == owner_uin) & (sub_users.c.name == name),
                      f"named {name!r}", lock)


async def by_uin(session: AsyncSession, owner_uin: str, uin: str, *,
                 lock: bool = False) -> Row[Any]:
    return await _one(session, (sub_users.c.owner_uin == owner_uin) & (sub_users.c.uin == uin),
                      uin, lock)


async def by_uid(session: AsyncSession, owner_uin: str, uid: int, *,
                 lock: bool = False) -> Row[Any]:
    return await _one(session, (sub_users.c.owner_uin == owner_uin) & (sub_users.c.uid == uid),
                      f"with uid {uid}", lock)
