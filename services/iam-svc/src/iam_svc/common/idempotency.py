"""Idempotent creation: `Idempotency-Key` (REST) or `client_token` (API 3.0 `ClientToken`).

A key is scoped to its owner (the caller's account). The first request's answer is stored, in
the same transaction as what it created, so the answer exists exactly when the change does; a
replay with the same request gets that answer back, a replay with another request is refused
with 409 `InvalidParameter.IdempotencyKeyReused`. A failed request stores nothing (its
transaction rolled back) so it may be retried with the same key. Answers are encrypted at rest
since some carry a SecretKey. Keys are remembered for 24 hours; a scope's expired keys are
forgotten when it stores a new one.

Concurrent first requests with one key: the row insert is the first write of the transaction,
so the second waits on the primary key and, once the first commits, replays its answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from kit.clock import utc
from kit.idempotency import RETENTION, ConcurrentModification, IdempotencyKeyReused, Outcome
from kit.identity import Caller
from sqlalchemy import Column, DateTime, String, Table, Text, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from iam_svc.common.work import Runner, Work, lost_race
from iam_svc.db import metadata

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("owner_uin", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text),  # encrypted JSON of the answer; NULL until the work is done
    Column("created_at", DateTime(timezone=True), nullable=False),
)


async def create_once(runner: Runner, *, scope: str, key: str | None, request_hash: str,
                      fn: Callable[[Work], Awaitable[dict[str, Any]]]) -> Outcome:
    if key is None:
        return Outcome(await runner.run(fn))
    associated = f"idempotency:{scope}:{key}"
    for attempt in range(2):
        try:
            async with runner.runtime.db.transaction() as session:
                work = runner.work(session)
                where = (idempotency_keys.c.owner_uin == scope) & (idempotency_keys.c.key == key)
                row = (await session.execute(select(idempotency_keys).where(where))).first()
                if row is not None and utc(row.created_at) < work.now() - RETENTION:
                    row = None
                if row is not None:
                    if row.request_hash != request_hash or row.response is None:
                        raise IdempotencyKeyReused(
                            f"idempotency key {key!r} was already used for a different request")
                    body = json.loads(runner.cipher.decrypt(row.response, associated))
                    return Outcome(body, replayed=True)
                # Forget this scope's expired keys (this one included) before remembering it.
                await session.execute(delete(idempotency_keys).where(
                    (idempotency_keys.c.owner_uin == scope)
                    & (idempotency_keys.c.created_at < work.now() - RETENTION)))
                await session.execute(insert(idempotency_keys).values(
                    owner_uin=scope, key=key, request_hash=request_hash, response=None,
                    created_at=work.now()))
                body = await fn(work)
                sealed = runner.cipher.encrypt(json.dumps(body, default=str), associated)
                await session.execute(update(idempotency_keys).where(where).values(
                    response=sealed))
                return Outcome(body)
        except DBAPIError as exc:
            if not isinstance(exc, IntegrityError) and not lost_race(exc):
                raise
            if attempt == 0:
                continue  # a concurrent first request won: read its answer
            raise ConcurrentModification(
                "a concurrent request changed the same data; retry the request") from exc
    raise AssertionError("unreachable")  # pragma: no cover





def scope_of(caller: Caller) -> str:
    """Idempotency keys are per account; service and operator callers each share one scope."""
    return caller.uin if caller.kind == "customer" and caller.uin else f"@{caller.kind}"
