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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.common.crypto import SecretCipher

T = TypeVar("T")
SOURCE = "/services/iam-svc"


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
        """Run `fn` in one transaction. A unique-constraint race with a concurrent request
        answers 409 `FailedOperation.ConcurrentModification` (never a 500)."""
        try:
            async with self.runtime.db.transaction() as session:
                return await fn(self.work(session))
        except IntegrityError as exc:
            raise ConcurrentModification(
                "a concurrent request changed the same data; retry the request") from exc
