"""RabbitBus.publish writes a batch at once and awaits its confirms together: each message
still gets its own outcome (confirmed, returned as unroutable, not sent), in order."""

from __future__ import annotations

import asyncio

import aio_pika
import pytest
from kit.messaging import RabbitBus, rabbit
from kit.messaging.transport import OutboundMessage, PublishFailed, QueueSpec


async def _drain(amqp_url: str, queue: str, count: int) -> list[aio_pika.abc.AbstractMessage]:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        q = await channel.get_queue(queue)
        got: list[aio_pika.abc.AbstractMessage] = []
        async with q.iterator() as messages:
            async for message in messages:
                await message.ack()
                got.append(message)
                if len(got) == count:
                    break
        return got
    finally:
        await connection.close()


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "per-message-fallback"])
async def test_batch_keeps_order_properties_and_per_message_outcomes(amqp_url, rabbit_names,
                                                                    batched, monkeypatch):
    if not batched:  # what an aiormq without the internals the batched path uses gets
        monkeypatch.setattr(rabbit, "_batch_publish_supported", lambda channel: False)
    bus = RabbitBus(amqp_url, exchange=rabbit_names("events"), dlx=rabbit_names("dlx"))
    await bus.connect()
    try:
        spec = QueueSpec(rabbit_names("q"), ("probe.created",))
        await bus.declare(spec)
        big = bytes(range(256)) * 2000  # 512 kB: several body frames
        batch = [OutboundMessage(f"m{i}", "probe.created", f'{{"n":{i}}}'.encode())
                 for i in range(300)]
        batch.insert(100, OutboundMessage("lost-1", "nobody.listens", b"{}"))
        batch.insert(200, OutboundMessage("big", "probe.created", big,
                                          headers={"traceparent": "00-1-2-01"}))
        batch.insert(250, OutboundMessage("bad-key", "k" * 300, b"{}"))
        results = await bus.publish(batch)
        outcome = {m.message_id: r for m, r in zip(batch, results, strict=True)}
        assert isinstance(outcome.pop("lost-1"), PublishFailed)
        assert "NO_ROUTE" in str(results[100])
        assert isinstance(outcome.pop("bad-key"), PublishFailed)
        assert all(r is None for r in outcome.values())

        got = await _drain(amqp_url, spec.name, 301)
        expected = [m for m in batch if m.message_id not in ("lost-1", "bad-key")]
        assert [m.message_id for m in got] == [m.message_id for m in expected]
        assert [m.body for m in got] == [m.body for m in expected]
        first = got[0]
        assert first.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert first.content_type == "application/cloudevents+json"
        assert first.type == "probe.created" and first.routing_key == "probe.created"
        assert next(m for m in got if m.message_id == "big").headers == {
            "traceparent": "00-1-2-01"}
        assert await bus.publish([]) == []
    finally:
        await bus.close()


async def test_many_batches_in_flight_and_a_closed_channel(amqp_url, rabbit_names):
    bus = RabbitBus(amqp_url, exchange=rabbit_names("events"), dlx=rabbit_names("dlx"))
    await bus.connect()
    try:
        spec = QueueSpec(rabbit_names("q"), ("a.#",))
        await bus.declare(spec)
        batches = [[OutboundMessage(f"b{b}-{i}", "a.b", b"{}") for i in range(50)]
                   for b in range(8)]
        results = await asyncio.gather(*(bus.publish(b) for b in batches))
        assert all(r is None for rs in results for r in rs)
        assert len(await _drain(amqp_url, spec.name, 400)) == 400
        channel = await bus._publish_channel.get_underlay_channel()  # type: ignore[union-attr]
        assert channel.confirmations == {} and channel.message_id_delivery_tag == {}
    finally:
        await bus.close()
    results = await bus.publish([OutboundMessage("late", "a.b", b"{}")])
    assert isinstance(results[0], PublishFailed)
