"""Idempotent creation: `Idempotency-Key` (REST) or `client_token` (API 3.0 `ClientToken`).

A key belongs to the caller's account. The first request's answer is stored in the same
transaction as what it created, so the answer exists exactly when the change does. A replay of
the same request gets that answer back; a replay with another request is refused with 409
`InvalidParameter.IdempotencyKeyReused`. A failed request stores nothing (its transaction rolled
back), so it may be retried with the same key. Keys are remembered for 24 hours.

Concurrent first requests with one key: the key row is the first write of the transaction (and
so, on PostgreSQL, the first lock taken, before the ledger row), so the second waits on the
primary key and, once the first commits, replays its answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from kit.clock import utc
from kit.idempotency import RETENTION, ConcurrentModification, IdempotencyKeyReused, Outcome
from sqlalchemy import Column, DateTime, String, Table, Text, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.db import metadata

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("owner_uin", String(20), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("operation", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text),  # JSON of the answer; NULL only inside the first transaction
    Column("created_at", DateTime(timezone=True), nullable=False),
)


async def run_once(
    session_factory: Callable[[], Any], *, owner: str, key: str | None, operation: str,
    request_hash: str, now: datetime,
    fn: Callable[[AsyncSession], Awaitable[dict[str, Any]]],
) -> Outcome:
    """Run `fn` in one transaction (opened by `session_factory`, e.g. `db.transaction`),
    at most once per (owner, key)."""
    for attempt in range(2):
        try:
            async with session_factory() as session:
                if key is None:
                    return Outcome(await fn(session))
                where = (idempotency_keys.c.owner_uin == owner) & (idempotency_keys.c.key == key)
                row = (await session.execute(select(idempotency_keys).where(where))).first()
                if row is not None and utc(row.created_at) < now - RETENTION:
                    await session.execute(delete(idempotency_keys).where(where))
                    row = None
                if row is not None:
                    if (row.request_hash != request_hash or row.operation != operation
                            or row.response is None):
                        raise IdempotencyKeyReused(
                            f"idempotency key {key!r} was already used for a different request")
                    return Outcome(json.loads(row.response), replayed=True)
                await session.execute(insert(idempotency_keys).values(
                    owner_uin=owner, key=key, operation=operation, request_hash=request_hash,
                    response=None, created_at=now))
                body = await fn(session)
                await session.execute(update(idempotency_keys).where(where).values(
                    response=json.dumps(body, ensure_ascii=False, default=str)))
                return Outcome(body)
        except IntegrityError as exc:
            if attempt == 0 and key is not None:
                continue  # a concurrent first request with this key won: replay its answer
            raise ConcurrentModification(
                "a concurrent request changed the same data; retry the request") from exc
    raise AssertionError("unreachable")  # pragma: no cover
