"""Idempotent consumers: inbox dedupe, business change and new outbox rows in one transaction,
ack only after commit.

Deliveries are handled in batches (whatever arrived, up to `batch_size`) so a busy queue costs
one transaction per batch instead of one per message. When a batch fails, its messages are
retried one by one, so one bad message never takes good ones down with it. A message whose
handling fails is requeued after a backoff; on its `delivery_limit`-th failed delivery it is
dead-lettered to `<queue>.dlq` with the reason logged. The broker enforces the same limit for
messages whose consumer died (the quorum queue's `x-delivery-limit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Table, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import Database, is_transient_error
from kit.messaging.envelope import CloudEvent, InvalidEnvelope, parse_event
from kit.messaging.transport import Bus, CancelConsumer, Delivery, QueueSpec

log = logging.getLogger("kit.messaging.consumer")

OUTAGE_MAX_PAUSE = 5.0

EventHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
BatchEventHandler = Callable[[AsyncSession, Sequence[CloudEvent]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A consumer of a service: its queue (`<service>.<purpose>`), bindings and handler.

    With `batch_handler`, the batch's new events (inbox-claimed, in delivery order) are given
    to it in one call instead of to `handler` one by one, in the same transaction, so a handler
    can write a batch in a few bulk statements. It must have the same effect as calling
    `handler` for each event in turn (a failing batch is retried one event at a time)."""

    queue: str
    bindings: tuple[str, ...]
    handler: EventHandler
    batch_handler: BatchEventHandler | None = None


_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, Counter]] = (
    weakref.WeakKeyDictionary())


def _metrics_for(registry: CollectorRegistry) -> dict[str, Counter]:
    """One labelled set of consumer metrics per registry, shared by a service's consumers."""
    if registry not in _METRICS:
        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, ["queue"], registry=registry)

        _METRICS[registry] = {
            "handled": counter("consumer_handled", "Messages handled and committed"),
            "duplicates": counter("consumer_duplicates", "Messages skipped as already handled"),
            "outage_waits": counter("consumer_outage_waits",
                                    "Pauses while the database was unavailable"),
            "dead_lettered": counter("consumer_dead_lettered", "Messages sent to the DLQ"),
        }
    return _METRICS[registry]


class Consumer:
    def __init__(self, db: Database, inbox: Table, bus: Bus, subscription: Subscription, *,
                 delivery_limit: int = 5, prefetch: int = 200, batch_size: int = 100,
                 backoff_seconds: float = 0.5, registry: CollectorRegistry | None = None) -> None:
        self.db = db
        self.inbox = inbox
        self.bus = bus
        self.subscription = subscription
        self.spec = QueueSpec(subscription.queue, subscription.bindings,
                              delivery_limit=delivery_limit, prefetch=prefetch)
        self.batch_size = batch_size
        self.backoff_seconds = backoff_seconds
        self._incoming: asyncio.Queue[Delivery] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._retries: set[asyncio.Task[None]] = set()
        self._cancel: CancelConsumer | None = None
        metrics = _metrics_for(registry or CollectorRegistry())
        queue = subscription.queue
        self.handled = metrics["handled"].labels(queue)
        self.duplicates = metrics["duplicates"].labels(queue)
        self.outage_waits = metrics["outage_waits"].labels(queue)
        self.dead_lettered = metrics["dead_lettered"].labels(queue)
        # The claimed ids come back, the duplicates do not. On PostgreSQL one statement takes
        # the batch's ids as one array (no per-row parameter processing); elsewhere one cached
        # statement runs as executemany ("insertmanyvalues").
        self._claim_array = db.dialect == "postgresql"
        if self._claim_array:
            self._claim_statement: Any = text(
                f"INSERT INTO {inbox.fullname} (consumer, message_id, received_at) "
                "SELECT :consumer, unnest(CAST(:ids AS varchar[])), :received_at "
                "ON CONFLICT DO NOTHING RETURNING message_id")
        else:
            self._claim_statement = (sqlite_insert(inbox).on_conflict_do_nothing()
                                     .returning(inbox.c.message_id))

    async def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(
            self._work(), name=f"consumer:{self.spec.name}")
        self._cancel = await self.bus.consume(self.spec, self._receive)

    async def stop(self) -> None:
        """Stop working (an open batch rolls back), then unsubscribe; every unacked message
        goes back to the queue. In that order, so no ack races the channel's closing."""
        tasks = [t for t in (self._worker, *self._retries) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._worker = None
        if self._cancel is not None:
            await self._cancel()
            self._cancel = None

    async def _receive(self, delivery: Delivery) -> None:
        self._incoming.put_nowait(delivery)

    async def _work(self) -> None:
        while True:
            batch = [await self._incoming.get()]
            while len(batch) < self.batch_size and not self._incoming.empty():
                batch.append(self._incoming.get_nowait())
            try:
                await self._handle_batch(batch)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the worker die; messages stay unacked and return
                log.exception("consumer batch crashed", extra={"queue": self.spec.name})

    async def _handle_batch(self, batch: Sequence[Delivery]) -> None:
        parsed: list[tuple[Delivery, CloudEvent]] = []
        for delivery in batch:
            try:
                if not delivery.message_id:
                    raise InvalidEnvelope("message has no message_id; refusing to invent one")
                parsed.append((delivery, parse_event(delivery.body, delivery.message_id)))
            except InvalidEnvelope as exc:
                await self._failed(delivery, exc)
        if not parsed:
            return
        try:
            await self._apply_through_outages(parsed)
        except Exception as exc:
            if len(parsed) == 1:
                await self._failed(parsed[0][0], exc)
                return
            for one in parsed:  # isolate the culprit; the others commit on their own
                try:
                    await self._apply_through_outages([one])
                except Exception as single_exc:
                    await self._failed(one[0], single_exc)
                else:
                    await one[0].ack()
            return
        await self._ack(batch, [d for d, _ in parsed])

    async def _ack(self, batch: Sequence[Delivery], applied: Sequence[Delivery]) -> None:
        """Ack the applied deliveries: one frame for the whole batch when every delivery before
        its last is settled (nothing failed in it and none waits for a retry), else one each."""
        if len(applied) == len(batch) and not self._retries:
            await applied[-1].ack(multiple=True)
            return
        for delivery in applied:
            await delivery.ack()

    async def _apply_through_outages(self, items: Sequence[tuple[Delivery, CloudEvent]]) -> None:
        """Apply; while the database is unreachable (or the transaction lost a race), wait and
        try again, holding the messages. An outage is nobody's poison: it must not spend the
        messages' delivery limit and send good events to the dead-letter queue."""
        pause = 0.1
        while True:
            try:
                await self._apply(items)
                if pause > 0.1:
                    log.info("database reachable again", extra={"queue": self.spec.name})
                return
            except Exception as exc:
                if not is_transient_error(exc):
                    raise
                if pause == 0.1 or pause >= OUTAGE_MAX_PAUSE:
                    log.warning("database unavailable, holding messages", extra={
                        "queue": self.spec.name, "error": f"{type(exc).__name__}: {exc}"[:500]})
                self.outage_waits.inc()
                await asyncio.sleep(pause)  # backoff while the database is away
                pause = min(pause * 2, OUTAGE_MAX_PAUSE)

    async def _apply(self, items: Sequence[tuple[Delivery, CloudEvent]]) -> None:
        """One transaction: claim the ids in the inbox, run the handler for the new ones."""
        first_seen: dict[str, CloudEvent] = {}
        for _, event in items:
            first_seen.setdefault(event.id, event)
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            if self._claim_array:
                result = await session.execute(self._claim_statement, {
                    "consumer": self.spec.name, "ids": list(first_seen), "received_at": now})
            else:
                result = await session.execute(self._claim_statement, [
                    {"consumer": self.spec.name, "message_id": event_id, "received_at": now}
                    for event_id in first_seen])
            claimed = set(result.scalars())
            new = [event for event_id, event in first_seen.items() if event_id in claimed]
            if self.subscription.batch_handler is not None:
                if new:
                    await self.subscription.batch_handler(session, new)
            else:
                for event in new:
                    await self.subscription.handler(session, event)
        self.handled.inc(len(claimed))
        self.duplicates.inc(len(items) - len(claimed))

    async def _failed(self, delivery: Delivery, error: BaseException) -> None:
        attempt = delivery.delivery_count + 1
        reason = f"{type(error).__name__}: {error}"
        if attempt >= self.spec.delivery_limit:
            log.error("dead-lettering message", extra={
                "queue": self.spec.name, "message_id": delivery.message_id,
                "routing_key": delivery.routing_key, "attempt": attempt, "reason": reason})
            self.dead_lettered.inc()
            await delivery.reject(requeue=False)
            return
        log.warning("message failed, will retry", extra={
            "queue": self.spec.name, "message_id": delivery.message_id, "attempt": attempt,
            "reason": reason})
        delay = min(self.backoff_seconds * 2 ** (attempt - 1), 30.0)
        task = asyncio.get_running_loop().create_task(self._requeue_later(delivery, delay))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    @staticmethod
    async def _requeue_later(delivery: Delivery, delay: float) -> None:
        await asyncio.sleep(delay)  # backoff, not synchronisation: the worker keeps going
        await delivery.reject(requeue=True)


def event_handler(model: type[Any], fn: Callable[[AsyncSession, CloudEvent, Any], Awaitable[None]]
                  ) -> EventHandler:
    """Wrap a handler that wants the event's `data` validated into a Pydantic model."""

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        await fn(session, event, model.model_validate(event.data))

    return handle
