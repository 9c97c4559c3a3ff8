"""Cache invalidation from iam-svc's events.

A plain subscriber on the Bus interface, not a kit Consumer: the gateway has no database for
an inbox, and none is needed since dropping a cache entry twice is the same as once. Each
message is acked after the caches were invalidated; one that is not a valid event is
dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging

from kit.messaging import InvalidEnvelope, parse_event
from kit.messaging.transport import Bus, CancelConsumer, Delivery, QueueSpec

from gateway.authorization import Authorizer
from gateway.cache import TtlCache
from gateway.iam_client import AccessKey

log = logging.getLogger("gateway.invalidation")

KEY_CHANGED = "iam.key.changed"
POLICY_CHANGED = "iam.policy.changed"


class CacheInvalidator:
    def __init__(self, bus: Bus, queue: str, keys: TtlCache[str, AccessKey | None],
                 authorizer: Authorizer) -> None:
        self.bus = bus
        # Every replica must see every change: a queue of its own, gone when it stops.
        self.spec = QueueSpec(queue, (KEY_CHANGED, POLICY_CHANGED), prefetch=100,
                              per_instance=True)
        self.keys = keys
        self.authorizer = authorizer
        self.handled = 0
        self._progress: asyncio.Condition | None = None
        self._cancel: CancelConsumer | None = None

    async def start(self) -> None:
        self._progress = asyncio.Condition()
        self._cancel = await self.bus.consume(self.spec, self._on_delivery)

    async def handled_at_least(self, count: int) -> None:
        """Wait until ``count`` events have been applied (operations tooling and tests)."""
        assert self._progress is not None, "start() first"
        async with self._progress:
            await self._progress.wait_for(lambda: self.handled >= count)

    async def stop(self) -> None:
        if self._cancel is not None:
            await self._cancel()
            self._cancel = None

    async def _on_delivery(self, delivery: Delivery) -> None:
        try:
            event = parse_event(delivery.body, delivery.message_id)
            data = event.data
            if event.routing_key == KEY_CHANGED:
                self.keys.invalidate(str(data["secret_id"]))
            elif event.routing_key == POLICY_CHANGED:
                if data["owner_uin"] is None:  # a preset policy changed: every account
                    self.authorizer.invalidate_all()
                else:
                    self.authorizer.invalidate_account(str(data["owner_uin"]))
            else:
                raise InvalidEnvelope(f"unexpected event type {event.type}")
        except (InvalidEnvelope, KeyError) as exc:
            log.error("dead-lettering invalid invalidation event",
                      extra={"message_id": delivery.message_id, "reason": str(exc)})
            await delivery.reject(requeue=False)
            return
        log.info("cache invalidated", extra={"event": event.type, "event_id": event.id})
        await delivery.ack()
        self.handled += 1
        if self._progress is not None:
            async with self._progress:
                self._progress.notify_all()
