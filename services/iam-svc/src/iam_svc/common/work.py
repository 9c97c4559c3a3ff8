"""The unit of work handed to service functions, and the runner that opens one per request.

Service functions take a `Work`: the session of one transaction, the injectable clock, the
outbox (events commit with the change or not at all) and the cipher for secrets at rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from kit.clock import Clock
from kit.idempotency import ConcurrentModification
from kit.messaging import CloudEvent, add_events, new_event
from kit.service import Runtime
from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.common.crypto import SecretCipher

T = TypeVar("T")
SOURCE = "/services/iam-svc"
LOST_RACE_SQLSTATES = ("40P01", "40001")  # deadlock detected, serialization failure


def lost_race(exc: BaseException) -> bool:
    """True when PostgreSQL aborted the transaction for a conflict with a concurrent one
    (deadlock, serialization failure): the work rolled back and retrying it is safe."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if state in LOST_RACE_SQLSTATES:
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


@dataclass
class Work:
    session: AsyncSession
    clock: Clock
    outbox: Table
    cipher: SecretCipher

    def now(self) -> datetime:
        return self.clock.now()

    def event(self, event_type: str, subject: str | None, data: dict[str, Any]) -> CloudEvent:
        return new_event(event_type, source=SOURCE, subject=subject, data=data, time=self.now())

    async def emit(self, *events: CloudEvent) -> None:
        await add_events(self.session, self.outbox, events)


class Runner:
    """Opens units of work on the service's database."""

    def __init__(self, runtime: Runtime, cipher: SecretCipher) -> None:
        self.runtime = runtime
        self.cipher = cipher

    def work(self, session: AsyncSession) -> Work:
        return Work(session, self.runtime.clock, self.runtime.outbox, self.cipher)

    async def run(self, fn: Callable[[Work], Awaitable[T]]) -> T:
        """Run `fn` in one transaction. A unique-constraint race with a concurrent request,
        or a deadlock the database broke, answers 409 `FailedOperation.ConcurrentModification`
        (never a 500). The services lock rows in a fixed order, so this is a safety net."""
        try:
            async with self.runtime.db.transaction() as session:
                return await fn(self.work(session))
        except DBAPIError as exc:
            if isinstance(exc, IntegrityError) or lost_race(exc):
                raise ConcurrentModification(
                    "a concurrent request changed the same data; retry the request") from exc
            raise
