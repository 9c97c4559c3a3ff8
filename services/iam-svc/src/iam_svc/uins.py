"""Uin allocation. Root accounts and sub-users share one uin space, as in CAM."""

from __future__ import annotations

import secrets

from kit.idempotency import ConcurrentModification
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.accounts.models import accounts
from iam_svc.users.models import sub_users

LOWEST = 100_000_000_000  # 12 digits, like the console's uins
SPAN = 900_000_000_000


async def uin_taken(session: AsyncSession, uin: str) -> bool:
    query = select(exists().where(accounts.c.uin == uin)
                   | exists().where(sub_users.c.uin == uin))
    return bool((await session.execute(query)).scalar())


async def allocate_uin(session: AsyncSession) -> str:
    """A fresh random 12-digit uin (the unique constraints catch the unlikely race)."""
    for _ in range(8):
        candidate = str(LOWEST + secrets.randbelow(SPAN))
        if not await uin_taken(session, candidate):
            return candidate
    raise ConcurrentModification("could not allocate a uin; retry")  # pragma: no cover
