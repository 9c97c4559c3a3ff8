"""What the relay and the consumers need from a broker, so RabbitMQ and the in-process bus are
interchangeable (the same contract tests run against both)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str
    routing_key: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueSpec:
    """One durable queue per (service, purpose), its bindings, and its dead-letter limit."""

    name: str
    bindings: tuple[str, ...]
    delivery_limit: int = 5
    prefetch: int = 200
    # A queue of this process alone (every replica gets every message; e.g. cache
    # invalidation): exclusive, deleted with its connection, no dead-letter queue.
    per_instance: bool = False

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"


class Delivery(Protocol):
    body: bytes
    message_id: str | None
    routing_key: str

    @property
    def delivery_count(self) -> int:
        """How many earlier deliveries of this message failed or were interrupted."""
        ...

    async def ack(self, multiple: bool = False) -> None:
        """Settle this delivery; with `multiple`, every earlier one on the same channel too."""
        ...

    async def reject(self, requeue: bool) -> None: ...


DeliveryHandler = Callable[[Delivery], Awaitable[None]]
CancelConsumer = Callable[[], Awaitable[None]]


class PublishFailed(Exception):
    """The broker did not take responsibility for a message (nack, unroutable, disconnected)."""


class Bus(Protocol):
    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def connected(self) -> bool: ...

    async def publish(self, messages: Sequence[OutboundMessage]) -> list[BaseException | None]:
        """Publish in order; one result per message: None when confirmed, else the error."""
        ...

    async def declare(self, spec: QueueSpec) -> None: ...

    async def consume(self, spec: QueueSpec, handler: DeliveryHandler) -> CancelConsumer:
        """Start delivering; returns the coroutine function that stops it (unacked messages
        return to the queue)."""
        ...
