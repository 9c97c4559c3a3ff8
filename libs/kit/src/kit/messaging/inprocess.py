"""An in-process bus with RabbitMQ's contract, for embedded mode and fast tests.

Same semantics the consumers rely on: topic bindings, one queue per consumer, at-least-once
delivery with manual ack, a delivery count, a delivery limit and a dead-letter queue, prefetch,
unroutable publishes reported as errors. Not durable: a message taken from the outbox lives in
memory until acked, so embedded mode can lose in-flight messages when the process dies (the
outbox rows are already marked sent). Distributed mode uses RabbitMQ for that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from kit.messaging.transport import (
    CancelConsumer,
    DeliveryHandler,
    OutboundMessage,
    PublishFailed,
    QueueSpec,
)

log = logging.getLogger("kit.messaging.inprocess")


@lru_cache(maxsize=4096)
def topic_matches(binding: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` is zero or more words."""

    def match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
        if not pattern:
            return not words
        head, rest = pattern[0], pattern[1:]
        if head == "#":
            return any(match(rest, words[i:]) for i in range(len(words) + 1))
        if not words:
            return False
        return (head == "*" or head == words[0]) and match(rest, words[1:])

    return match(tuple(binding.split(".")), tuple(routing_key.split(".")))


@dataclass
class _Envelope:
    message: OutboundMessage
    delivery_count: int = 0


@dataclass
class _Queue:
    spec: QueueSpec
    pending: asyncio.Queue[_Envelope] = field(default_factory=asyncio.Queue)
    dead: list[tuple[OutboundMessage, str]] = field(default_factory=list)
    unsettled: dict[int, InProcessDelivery] = field(default_factory=dict)
    next_tag: int = 1
    task: asyncio.Task[None] | None = None


class InProcessDelivery:
    def __init__(self, queue: _Queue, envelope: _Envelope, slot: asyncio.Semaphore) -> None:
        self._queue = queue
        self._envelope = envelope
        self._slot = slot
        self._settled = False
        self.tag = queue.next_tag
        queue.next_tag += 1
        queue.unsettled[self.tag] = self
        self.body = envelope.message.body
        self.message_id: str | None = envelope.message.message_id
        self.routing_key = envelope.message.routing_key

    @property
    def delivery_count(self) -> int:
        return self._envelope.delivery_count

    def _settle(self) -> bool:
        if self._settled:
            return False
        self._settled = True
        self._queue.unsettled.pop(self.tag, None)
        self._slot.release()
        return True

    async def ack(self, multiple: bool = False) -> None:
        """With `multiple`, also every earlier unsettled delivery of this queue (AMQP's
        basic.ack multiple=true)."""
        if multiple:
            for tag in [t for t in self._queue.unsettled if t < self.tag]:
                self._queue.unsettled[tag]._settle()
        self._settle()

    async def reject(self, requeue: bool) -> None:
        if not self._settle():
            return
        if not requeue:
            self._queue.dead.append((self._envelope.message, "rejected"))
            return
        self._envelope.delivery_count += 1
        if self._envelope.delivery_count >= self._queue.spec.delivery_limit:
            self._queue.dead.append((self._envelope.message, "delivery_limit"))
            return
        self._queue.pending.put_nowait(self._envelope)


class InProcessBus:
    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        self._connected = True

    async def close(self) -> None:
        self._connected = False
        for queue in self._queues.values():
            if queue.task is not None:
                queue.task.cancel()
        await asyncio.gather(*(q.task for q in self._queues.values() if q.task),
                             return_exceptions=True)
        for queue in self._queues.values():
            queue.task = None

    async def publish(self, messages: Sequence[OutboundMessage]) -> list[BaseException | None]:
        results: list[BaseException | None] = []
        for message in messages:
            if not self._connected:
                results.append(PublishFailed("bus closed"))
                continue
            routed = False
            for queue in self._queues.values():
                if any(topic_matches(b, message.routing_key) for b in queue.spec.bindings):
                    queue.pending.put_nowait(_Envelope(message))
                    routed = True
            results.append(None if routed else PublishFailed(f"unroutable: {message.routing_key}"))
        return results

    async def declare(self, spec: QueueSpec) -> None:
        self._queues.setdefault(spec.name, _Queue(spec))

    async def consume(self, spec: QueueSpec, handler: DeliveryHandler) -> CancelConsumer:
        await self.declare(spec)
        queue = self._queues[spec.name]
        slot = asyncio.Semaphore(spec.prefetch)

        async def dispatch() -> None:
            while True:
                envelope = await queue.pending.get()
                await slot.acquire()
                try:
                    await handler(InProcessDelivery(queue, envelope, slot))
                except Exception:
                    log.exception("delivery handler failed", extra={"queue": spec.name})

        task = asyncio.get_running_loop().create_task(dispatch(), name=f"bus:{spec.name}")
        queue.task = task

        async def cancel() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if queue.task is task:
                queue.task = None
            for delivery in list(queue.unsettled.values()):  # as a closed channel does
                await delivery.reject(requeue=True)

        return cancel

    def dead_letters(self, queue_name: str) -> list[tuple[OutboundMessage, str]]:
        """What a `<queue>.dlq` would hold: messages and the reason they were dead-lettered."""
        return list(self._queues[queue_name].dead)

    def depth(self, queue_name: str) -> int:
        return self._queues[queue_name].pending.qsize()
