"""The outbox relay: publishes committed outbox rows in order, with confirms, then marks them.

Safe with several replicas: each batch is claimed with `FOR UPDATE SKIP LOCKED`, so two relays
never publish the same rows at the same time. A crash between publish and mark republishes the
batch later (at-least-once); consumers dedupe on the event id, which is the AMQP message id.
Woken by PostgreSQL `LISTEN outbox` (the migration's trigger notifies on commit) or by the
in-process commit hook; polls as a fallback because a listener can miss notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Table, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import Database, asyncpg_dsn
from kit.messaging.outbox import OUTBOX_DIRTY
from kit.messaging.transport import Bus, OutboundMessage

log = logging.getLogger("kit.messaging.relay")

MAX_BACKOFF_SECONDS = 300.0


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failures: 0.5, 1, 2 ... capped at 5 min."""
    return min(0.5 * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


class OutboxRelay:
    def __init__(self, db: Database, outbox: Table, bus: Bus, *, batch_size: int = 200,
                 poll_seconds: float = 2.0, retention: timedelta = timedelta(hours=24),
                 registry: CollectorRegistry | None = None, service: str = "service") -> None:
        self.db = db
        self.outbox = outbox
        self.bus = bus
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._last_cleanup = 0.0
        registry = registry or CollectorRegistry()
        self.published = Counter("outbox_published", "Outbox rows published", ["service"],
                                 registry=registry).labels(service)
        self.failed = Counter("outbox_publish_failures", "Outbox publish failures", ["service"],
                              registry=registry).labels(service)
        # On PostgreSQL the batch is marked with one array parameter (no per-row parameters to
        # render and bind, as an expanding IN has); elsewhere with IN.
        self._mark_statement: Any = None
        if db.dialect == "postgresql":
            self._mark_statement = text(
                f"UPDATE {outbox.fullname} SET published_at = :now "
                "WHERE seq = ANY(CAST(:seqs AS bigint[]))")
        db.on_commit(self._on_commit)

    def _on_commit(self, session: AsyncSession) -> None:
        if session.info.pop(OUTBOX_DIRTY, False):
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    async def _listen(self) -> None:
        if self.db.dialect != "postgresql":
            return
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            self._listener = await asyncpg.connect(asyncpg_dsn(self.db.url))
            await self._listener.add_listener("outbox", lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError) as exc:
            self._listener = None
            log.warning("outbox LISTEN unavailable, polling only", extra={"error": repr(exc)})

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                handled = await self.publish_batch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay cycle failed", extra={"error": repr(exc)})
                handled = 0
            if handled >= self.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            if not self._wake.is_set():  # a quiet moment: housekeeping
                await self._listen()
                await self._cleanup()

    async def publish_batch(self) -> int:
        """Claim due rows, publish them, record the outcome; returns how many rows it saw."""
        if not self.bus.connected:  # an outage is not the rows' fault: do not spend their tries
            return 0
        o = self.outbox
        now = datetime.now(UTC)
        async with self.db.sessions() as session, session.begin():
            rows = (await session.execute(
                select(o.c.seq, o.c.event_id, o.c.routing_key, o.c.body, o.c.attempts)
                .where(o.c.published_at.is_(None), o.c.next_attempt_at <= now)
                .order_by(o.c.seq).limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )).all()
            if not rows:
                return 0
            results = await self.bus.publish([
                OutboundMessage(message_id=r.event_id, routing_key=r.routing_key,
                                body=r.body.encode()) for r in rows
            ])
            done = [r.seq for r, err in zip(rows, results, strict=True) if err is None]
            if done and self._mark_statement is not None:
                await session.execute(self._mark_statement,
                                      {"now": datetime.now(UTC), "seqs": done})
            elif done:
                await session.execute(
                    update(o).where(o.c.seq.in_(done)).values(published_at=datetime.now(UTC))
                )
            for row, err in zip(rows, results, strict=True):
                if err is None:
                    continue
                await session.execute(update(o).where(o.c.seq == row.seq).values(
                    attempts=row.attempts + 1, last_error=str(err)[:2000],
                    next_attempt_at=now + timedelta(seconds=retry_delay(row.attempts + 1)),
                ))
        self.published.inc(len(done))
        if len(done) < len(rows):
            self.failed.inc(len(rows) - len(done))
            log.warning("publish failed, will retry", extra={
                "failed": len(rows) - len(done),
                "error": str(next(e for e in results if e is not None))})
        return len(rows)

    async def _cleanup(self) -> None:
        if time.monotonic() - self._last_cleanup < 300:
            return
        self._last_cleanup = time.monotonic()
        cutoff = datetime.now(UTC) - self.retention
        try:
            async with self.db.transaction() as session:
                await session.execute(delete(self.outbox).where(
                    self.outbox.c.published_at.is_not(None), self.outbox.c.published_at < cutoff))
        except Exception as exc:
            log.warning("outbox cleanup failed", extra={"error": repr(exc)})
