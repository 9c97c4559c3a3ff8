"""sim.publisher: every event reaches the bus once confirmed, with message_id == event id, on the
in-process bus and on real RabbitMQ; failed items are retried."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence

import aio_pika
import pytest
from kit.messaging import CloudEvent, InProcessBus, QueueSpec, RabbitBus, parse_event
from kit.messaging.transport import Bus, Delivery, OutboundMessage, PublishFailed
from sim.generator import SimConfig, generate
from sim.publisher import ProgressBar, PublishError, publish_events

CONFIG = SimConfig(seed=11, accounts=8, months=2, end_month="2026-03", refund_share=0.2)


def stream() -> list[CloudEvent]:
    return list(generate(CONFIG))


async def drain(bus: Bus, spec: QueueSpec, expected: int) -> list[Delivery]:
    """Consume until `expected` deliveries arrived (acking each); fail after 30 s."""
    got: list[Delivery] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        got.append(delivery)
        await delivery.ack()
        if len(got) >= expected:
            done.set()

    cancel = await bus.consume(spec, handler)
    try:
        await asyncio.wait_for(done.wait(), timeout=30)
    finally:
        await cancel()
    return got


def assert_delivered_exactly(events: list[CloudEvent], deliveries: list[Delivery]) -> None:
    assert len(deliveries) == len(events)
    assert [d.message_id for d in deliveries] == [e.id for e in events]  # one publisher: in order
    for delivery, event in zip(deliveries, events, strict=True):
        assert delivery.routing_key == event.routing_key
        assert parse_event(delivery.body, message_id=delivery.message_id) == event


async def test_in_process_bus_gets_exactly_n_with_message_id_equal_to_event_id() -> None:
    events = stream()
    bus = InProcessBus()
    await bus.connect()
    spec = QueueSpec("sim.tap", ("#",))
    try:
        await bus.declare(spec)
        report = await publish_events(bus, events, batch_size=7, progress=False)
        assert report.published == len(events) and report.retried == 0
        assert bus.depth(spec.name) == len(events)
        assert_delivered_exactly(events, await drain(bus, spec, len(events)))
        assert bus.depth(spec.name) == 0
    finally:
        await bus.close()


async def test_rabbitmq_gets_exactly_n_with_message_id_equal_to_event_id(
        amqp_url: str, rabbit_names) -> None:
    events = stream()
    bus = RabbitBus(amqp_url, exchange=rabbit_names("events"), dlx=rabbit_names("dlx"))
    await bus.connect()
    spec = QueueSpec(rabbit_names("q"), ("#",))
    try:
        await bus.declare(spec)
        report = await publish_events(bus, events, batch_size=50, progress=False)
        assert report.published == len(events)
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(spec.name, passive=True)
            assert queue.declaration_result.message_count == len(events)  # confirmed = queued
        finally:
            await connection.close()
        assert_delivered_exactly(events, await drain(bus, spec, len(events)))
    finally:
        await bus.close()


async def test_rabbitmq_messages_are_persistent_cloudevents(amqp_url: str, rabbit_names) -> None:
    events = stream()[:3]
    bus = RabbitBus(amqp_url, exchange=rabbit_names("events"), dlx=rabbit_names("dlx"))
    await bus.connect()
    spec = QueueSpec(rabbit_names("q"), ("order.*",))
    try:
        await bus.declare(spec)
        paid = [e for e in events if e.routing_key.startswith("order.")]
        await publish_events(bus, paid, progress=False)
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(spec.name, passive=True)
            message = await queue.get(timeout=10)
            assert message is not None
            assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
            assert message.message_id == paid[0].id
            assert message.content_type == "application/cloudevents+json"
            await message.ack()
        finally:
            await connection.close()
    finally:
        await bus.close()


class FlakyBus(InProcessBus):
    """Refuses each message `failures` times before taking it (a nack or a lost connection)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.refused: dict[str, int] = {}
        self.calls = 0

    async def publish(self, messages: Sequence[OutboundMessage]) -> list[BaseException | None]:
        self.calls += 1
        results: list[BaseException | None] = []
        for message in messages:
            # about a third of the messages fail until refused `failures` times each
            refused = self.refused.get(message.message_id, 0)
            if int(message.message_id[-1], 16) % 3 == 0 and refused < self.failures:
                self.refused[message.message_id] = self.refused.get(message.message_id, 0) + 1
                results.append(PublishFailed("nack"))
            else:
                results += await super().publish([message])
        return results


async def test_failed_items_are_retried_until_published() -> None:
    events = stream()
    bus = FlakyBus(failures=2)
    await bus.connect()
    spec = QueueSpec("sim.tap", ("#",))
    await bus.declare(spec)
    report = await publish_events(bus, events, batch_size=10, retry_delay=0, progress=False)
    assert bus.refused, "the fake refused nothing"
    assert report.published == len(events)
    assert report.retried == sum(bus.refused.values())
    assert bus.depth(spec.name) == len(events)
    got = await drain(bus, spec, len(events))
    assert sorted(d.message_id for d in got) == sorted(e.id for e in events)
    await bus.close()


async def test_items_still_refused_after_the_last_attempt_raise() -> None:
    events = stream()
    bus = FlakyBus(failures=10)
    await bus.connect()
    await bus.declare(QueueSpec("sim.tap", ("#",)))
    with pytest.raises(PublishError) as caught:
        await publish_events(bus, events, batch_size=10, max_attempts=3, retry_delay=0,
                             progress=False)
    assert caught.value.failed and all(isinstance(e, PublishFailed) for _, e in caught.value.failed)
    assert all(bus.refused[event_id] == 3 for event_id, _ in caught.value.failed)
    await bus.close()


async def test_unroutable_events_are_reported_not_lost() -> None:
    bus = InProcessBus()  # no queue bound: every publish is unroutable
    await bus.connect()
    with pytest.raises(PublishError, match="unroutable"):
        await publish_events(bus, stream()[:5], max_attempts=2, retry_delay=0, progress=False)
    await bus.close()


def test_progress_bar_draws_on_its_stream_and_can_be_disabled() -> None:
    shown = io.StringIO()
    bar = ProgressBar(10, stream=shown)
    bar.update(4)
    bar.update(6)
    bar.close()
    assert "10/10" in shown.getvalue() and "#" * 30 in shown.getvalue()
    hidden = io.StringIO()
    quiet = ProgressBar(10, enabled=False, stream=hidden)
    quiet.update(10)
    quiet.close()
    assert hidden.getvalue() == ""


async def test_cli_publishes_to_rabbitmq_into_a_declared_queue(
        amqp_url: str, rabbit_names, capsys: pytest.CaptureFixture[str]) -> None:
    from sim.__main__ import _config, _parser, _publish

    queue = rabbit_names("tap")
    args = _parser().parse_args([
        "publish", "--seed", "42", "--accounts", "3", "--months", "1", "--end-month", "2026-10",
        "--amqp-url", amqp_url, "--exchange", rabbit_names("events"), "--dlx",
        rabbit_names("dlx"), "--declare-queue", queue])
    assert await _publish(args, _config(args)) == 0
    expected = len(list(generate(_config(args))))
    err = capsys.readouterr().err
    assert f"published {expected} events" in err and f"{expected}/{expected}" in err
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        assert declared.declaration_result.message_count == expected
    finally:
        await connection.close()


async def test_cli_explains_an_unroutable_stream(
        amqp_url: str, rabbit_names, capsys: pytest.CaptureFixture[str]) -> None:
    from sim.__main__ import _config, _parser, _publish

    args = _parser().parse_args([
        "publish", "--accounts", "1", "--months", "1", "--amqp-url", amqp_url, "--no-progress",
        "--exchange", rabbit_names("events"), "--dlx", rabbit_names("dlx"),
        "--max-attempts", "2", "--retry-delay", "0"])
    assert await _publish(args, _config(args)) == 1
    err = capsys.readouterr().err
    assert "NO_ROUTE" in err and "--declare-queue" in err
