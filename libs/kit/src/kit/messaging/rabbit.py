"""RabbitMQ transport on aio-pika.

Pitfalls handled here (measured, see the reference notes): messages are made persistent,
`message_id` is always the event id, unroutable publishes raise (`on_return_raises=True`),
queues and exchanges are durable, quorum queues get an explicit delivery limit and a
dead-letter route to `<queue>.dlq`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
)

from kit.messaging.transport import (
    CancelConsumer,
    DeliveryHandler,
    OutboundMessage,
    PublishFailed,
    QueueSpec,
)

log = logging.getLogger("kit.messaging.rabbit")


class RabbitDelivery:
    __slots__ = ("_message", "body", "message_id", "routing_key")

    def __init__(self, message: AbstractIncomingMessage) -> None:
        self._message = message
        self.body = message.body
        self.message_id = message.message_id
        self.routing_key = message.routing_key or ""

    @property
    def delivery_count(self) -> int:
        count = (self._message.headers or {}).get("x-delivery-count")
        if isinstance(count, int):
            return count
        return 1 if self._message.redelivered else 0

    async def ack(self, multiple: bool = False) -> None:
        try:
            await self._message.ack(multiple=multiple)
        except Exception as exc:  # channel gone: the broker redelivers, the inbox dedupes
            log.warning("ack lost, message will be redelivered", extra={"error": repr(exc)})

    async def reject(self, requeue: bool) -> None:
        try:
            await self._message.reject(requeue=requeue)
        except Exception as exc:
            log.warning("reject lost, message will be redelivered", extra={"error": repr(exc)})


class RabbitBus:
    def __init__(self, url: str, *, exchange: str = "billing.events", dlx: str = "billing.dlx",
                 connection_name: str = "service", publish_timeout: float = 10.0) -> None:
        self.url = url
        self.exchange_name = exchange
        self.dlx_name = dlx
        self.connection_name = connection_name
        self.publish_timeout = publish_timeout
        self._connection: AbstractRobustConnection | None = None  # publishing
        self._consume_connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._consumer_channels: list[AbstractRobustChannel] = []

    @property
    def connected(self) -> bool:
        return (self._connection is not None and not self._connection.is_closed
                and self._publish_channel is not None and not self._publish_channel.is_closed)

    async def connect(self) -> None:
        """Two connections, as RabbitMQ advises: flow control that throttles a busy publisher
        must not also hold back the acks of the consumers."""
        self._connection = await self._connect("publish")
        self._consume_connection = await self._connect("consume")
        self._publish_channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._exchange = await self._declare_exchanges(self._publish_channel)

    async def _connect(self, role: str) -> AbstractRobustConnection:
        return await aio_pika.connect_robust(
            self.url, client_properties={"connection_name": f"{self.connection_name}:{role}"},
            heartbeat=15, reconnect_interval=1,
        )

    async def _declare_exchanges(self, channel: AbstractRobustChannel) -> AbstractRobustExchange:
        await channel.declare_exchange(self.dlx_name, aio_pika.ExchangeType.DIRECT, durable=True)
        return await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def close(self) -> None:
        for connection in (self._consume_connection, self._connection):
            if connection is not None:
                await connection.close()
        self._connection = None
        self._consume_connection = None
        self._publish_channel = None
        self._exchange = None
        self._consumer_channels.clear()

    async def publish(self, messages: Sequence[OutboundMessage]) -> list[BaseException | None]:
        exchange = self._exchange
        if exchange is None or not self.connected:
            error = PublishFailed("not connected to the broker")
            return [error for _ in messages]

        async def one(m: OutboundMessage) -> None:
            message = aio_pika.Message(
                m.body, message_id=m.message_id, content_type="application/cloudevents+json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT, headers=dict(m.headers),
                type=m.routing_key,
            )
            try:
                await exchange.publish(message, routing_key=m.routing_key, mandatory=True,
                                       timeout=self.publish_timeout)
            except Exception as exc:  # nack, return, timeout, lost connection: all "retry later"
                raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc

        results = await asyncio.gather(*(one(m) for m in messages), return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    async def declare(self, spec: QueueSpec) -> None:
        """Idempotent topology: the quorum queue, its bindings, its dead-letter queue."""
        assert self._connection is not None, "connect() first"
        channel = await self._connection.channel()
        try:
            await self._declare_queue(channel, spec)
        finally:
            await channel.close()

    async def _declare_queue(self, channel: AbstractRobustChannel, spec: QueueSpec):  # type: ignore[no-untyped-def]
        exchange = await self._declare_exchanges(channel)
        if spec.per_instance:
            queue = await channel.declare_queue(spec.name, exclusive=True, auto_delete=True)
            for key in spec.bindings:
                await queue.bind(exchange, routing_key=key)
            return queue
        dlx = await channel.get_exchange(self.dlx_name)
        dlq = await channel.declare_queue(
            spec.dlq, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dlq.bind(dlx, routing_key=spec.name)
        queue = await channel.declare_queue(
            spec.name, durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": self.dlx_name,
                "x-dead-letter-routing-key": spec.name,
                "x-delivery-limit": spec.delivery_limit,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        for key in spec.bindings:
            await queue.bind(exchange, routing_key=key)
        return queue

    async def consume(self, spec: QueueSpec, handler: DeliveryHandler) -> CancelConsumer:
        assert self._consume_connection is not None, "connect() first"
        channel = await self._consume_connection.channel()
        await channel.set_qos(prefetch_count=spec.prefetch)
        queue = await self._declare_queue(channel, spec)
        self._consumer_channels.append(channel)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await handler(RabbitDelivery(message))

        tag = await queue.consume(on_message)

        async def cancel() -> None:
            try:
                await queue.cancel(tag)
                await channel.close()  # returns the unacked messages to the queue
            except Exception as exc:
                log.warning("consumer cancel failed", extra={"error": repr(exc)})
            if channel in self._consumer_channels:
                self._consumer_channels.remove(channel)

        return cancel
