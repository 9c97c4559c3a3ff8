"""Messaging: CloudEvents envelope, transactional outbox, relay, idempotent consumers, and two
interchangeable transports (RabbitMQ, in-process)."""

from kit.messaging.consumer import (
    BatchEventHandler,
    Consumer,
    EventHandler,
    Subscription,
    event_handler,
)
from kit.messaging.envelope import CloudEvent, InvalidEnvelope, new_event, parse_event
from kit.messaging.inprocess import InProcessBus
from kit.messaging.outbox import add_events
from kit.messaging.rabbit import RabbitBus
from kit.messaging.relay import OutboxRelay
from kit.messaging.schema import create_messaging_schema, drop_messaging_schema, messaging_tables
from kit.messaging.transport import Bus, OutboundMessage, QueueSpec

__all__ = [
    "BatchEventHandler", "Bus", "CloudEvent", "Consumer", "EventHandler", "InProcessBus",
    "InvalidEnvelope", "OutboundMessage", "OutboxRelay", "QueueSpec", "RabbitBus",
    "Subscription", "add_events", "create_messaging_schema", "drop_messaging_schema",
    "event_handler", "messaging_tables", "new_event", "parse_event",
]
