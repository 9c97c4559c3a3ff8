"""The relay's batched publish writes the frames aio-pika would write for the same message."""

from __future__ import annotations

import aio_pika
import pamqp.frame
import pytest
from kit.messaging.rabbit import CONTENT_TYPE, RabbitBus
from kit.messaging.transport import OutboundMessage
from pamqp import commands
from pamqp.body import ContentBody
from pamqp.header import ContentHeader

FRAME_MAX = 131072
MAX_BODY = FRAME_MAX - len(pamqp.frame.marshal(ContentBody(b""), 0))


def _aio_pika_frames(exchange: str, m: OutboundMessage, channel: int) -> bytes:
    """What aiormq's basic_publish marshals for the message the per-message path builds."""
    message = aio_pika.Message(m.body, message_id=m.message_id, content_type=CONTENT_TYPE,
                               delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                               headers=dict(m.headers), type=m.routing_key)
    frames = [commands.Basic.Publish(exchange=exchange, routing_key=m.routing_key,
                                     mandatory=True),
              ContentHeader(properties=message.properties, body_size=len(m.body))]
    frames += [ContentBody(m.body[i:i + MAX_BODY]) for i in range(0, len(m.body), MAX_BODY)]
    return b"".join(pamqp.frame.marshal(f, channel) for f in frames)


@pytest.mark.parametrize("message", [
    OutboundMessage("0190a5b2-7c3e-7def-8000-000000000001", "probe.created",
                    b'{"specversion":"1.0","id":"0190a5b2"}'),
    OutboundMessage("id-with-ünïcode", "order.paid.late", '{"name":"Zoë 张"}'.encode()),
    OutboundMessage("with-headers", "iam.key.changed", b"{}",
                    headers={"traceparent": "00-abc-def-01", "x-origin": "test"}),
    OutboundMessage("empty-body", "a.b", b""),
    OutboundMessage("exactly-one-frame", "a.b", b"x" * MAX_BODY),
    OutboundMessage("three-frames", "a.b", bytes(range(256)) * 1100),
])
@pytest.mark.parametrize("channel", [1, 7, 300])
def test_batched_encoding_matches_aio_pika(message: OutboundMessage, channel: int):
    bus = RabbitBus("amqp://unused/", exchange="billing.events")
    assert bus._encode(message, channel, MAX_BODY) == _aio_pika_frames(
        "billing.events", message, channel)
    # the cached method frame is reused, not stale
    assert bus._encode(message, channel, MAX_BODY) == _aio_pika_frames(
        "billing.events", message, channel)


def test_too_long_routing_key_or_id_is_refused():
    bus = RabbitBus("amqp://unused/")
    with pytest.raises(ValueError, match="255"):
        bus._encode(OutboundMessage("id", "k" * 256, b"{}"), 1, MAX_BODY)
    with pytest.raises(ValueError, match="255"):
        bus._encode(OutboundMessage("é" * 128, "a.b", b"{}"), 1, MAX_BODY)
