"""The messaging contract (DESIGN §5), proven against RabbitMQ + PostgreSQL and against the
in-process bus + SQLite with the same tests."""

from __future__ import annotations

import logging

import aio_pika
import asyncpg
from kit import jsonutil
from kit.db import Database
from kit.messaging import RabbitBus, new_event, probe
from kit.messaging.transport import OutboundMessage
from sqlalchemy import func, select


async def _outbox_pending(pipeline) -> int:
    async with pipeline.db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(probe.outbox)
                                  .where(probe.outbox.c.published_at.is_(None))))


async def _effects_for(pipeline, ids: list[str]) -> set[str]:
    async with pipeline.db.sessions() as s:
        rows = await s.execute(select(probe.effects.c.event_id)
                               .where(probe.effects.c.event_id.in_(ids)))
        return {r[0] for r in rows}


async def test_evt_req_2_every_committed_event_takes_effect_exactly_once(pipeline):
    await pipeline.consumer(batch_size=50).start()
    await pipeline.relay(batch_size=100).start()
    ids = await probe.write_orders(pipeline.db, 600, per_transaction=3)

    async def all_applied() -> bool:
        return (await probe.effect_counts(pipeline.db))[1] == len(ids)

    await probe.wait_for(all_applied, within=60, what="600 effects")
    assert await probe.effect_counts(pipeline.db) == (600, 600)
    assert await _effects_for(pipeline, ids) == set(ids)

    async def outbox_drained() -> bool:
        # The relay marks a batch published after its confirms; with the in-process bus the
        # effects can land before that, so wait for it rather than race it.
        return await _outbox_pending(pipeline) == 0

    await probe.wait_for(outbox_drained, within=30, what="every outbox row marked published")
    await pipeline.started[0].stop()
    assert await _queue_depth(pipeline) == 0


async def test_evt_req_2_redelivered_messages_take_effect_once(pipeline):
    """A relay that crashed after publishing republishes; the broker may redeliver. The inbox
    makes the second delivery a no-op, also when both copies land in one batch."""
    await pipeline.consumer(batch_size=100).start()
    ids = await probe.write_orders(pipeline.db, 50)
    async with pipeline.db.sessions() as s:
        bodies = (await s.execute(select(probe.outbox.c.event_id, probe.outbox.c.body)
                                  .order_by(probe.outbox.c.seq))).all()
    messages = [OutboundMessage(eid, probe.ROUTING_KEY, body.encode()) for eid, body in bodies]
    assert all(r is None for r in await pipeline.bus.publish(messages + messages))
    relay = pipeline.relay()
    await relay.publish_batch()  # and the relay's own copy: three deliveries of each

    async def applied() -> bool:
        return (await probe.effect_counts(pipeline.db))[1] == 50

    await probe.wait_for(applied, within=30, what="50 effects")
    marker = await probe.write_orders(pipeline.db, 1)
    await relay.publish_batch()

    async def marker_applied() -> bool:
        return bool(await _effects_for(pipeline, marker))

    await probe.wait_for(marker_applied, within=30, what="marker effect")
    assert await probe.effect_counts(pipeline.db) == (51, 51)
    assert set(ids) <= await _effects_for(pipeline, ids + marker)


async def test_evt_req_2_rolled_back_transaction_is_never_published(pipeline):
    await pipeline.consumer().start()
    await pipeline.relay().start()
    rolled_back = await probe.write_orders(pipeline.db, 20, per_transaction=5, fail=True)
    async with pipeline.db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(probe.outbox)) == 0
        assert await s.scalar(select(func.count()).select_from(probe.orders)) == 0
    marker = await probe.write_orders(pipeline.db, 1)

    async def marker_applied() -> bool:
        return bool(await _effects_for(pipeline, marker))

    await probe.wait_for(marker_applied, within=30, what="marker effect")
    assert await _effects_for(pipeline, rolled_back) == set()
    assert await probe.effect_counts(pipeline.db) == (1, 1)


async def _dead_letter_count(pipeline) -> int:
    if pipeline.kind == "inprocess":
        return len(pipeline.bus.dead_letters(pipeline.queue))
    connection = await aio_pika.connect(pipeline.bus.url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{pipeline.queue}.dlq", passive=True)
        return queue.declaration_result.message_count
    finally:
        await connection.close()


async def test_evt_req_2_poison_messages_go_to_dlq_after_delivery_limit(pipeline, caplog):
    """Invalid envelope and invalid payload: retried up to the delivery limit, then
    dead-lettered with the reason logged; the good messages around them (in the same batches)
    are applied and acked, not held up."""
    good = await probe.write_orders(pipeline.db, 30)
    async with pipeline.db.sessions() as s:
        rows = (await s.execute(select(probe.outbox.c.event_id, probe.outbox.c.body)
                                .order_by(probe.outbox.c.seq))).all()
    good_messages = [OutboundMessage(eid, probe.ROUTING_KEY, body.encode()) for eid, body in rows]
    bad_payload = new_event(probe.EVENT_TYPE, source="/probe", data={"order_id": 42})
    stream = [
        *good_messages[:10],
        OutboundMessage(bad_payload.id, probe.ROUTING_KEY, bad_payload.to_json()),
        *good_messages[10:20],
        OutboundMessage("not-json-1", probe.ROUTING_KEY, b"{not json"),
        *good_messages[20:],
        OutboundMessage("no-envelope", probe.ROUTING_KEY, jsonutil.dumps({"hello": "world"})),
    ]
    consumer = pipeline.consumer(delivery_limit=3, batch_size=10)
    await pipeline.bus.declare(consumer.spec)
    caplog.set_level(logging.WARNING, logger="kit.messaging.consumer")
    assert all(r is None for r in await pipeline.bus.publish(stream))
    await consumer.start()

    async def good_applied() -> bool:
        return len(await _effects_for(pipeline, good)) == 30

    async def all_dead() -> bool:
        return await _dead_letter_count(pipeline) == 3

    await probe.wait_for(good_applied, within=30, what="good messages applied")
    await probe.wait_for(all_dead, within=30, what="3 messages in the DLQ")
    dead = [r for r in caplog.records if r.getMessage() == "dead-lettering message"]
    assert {r.message_id for r in dead} == {"not-json-1", bad_payload.id, "no-envelope"}
    assert all(r.attempt == 3 for r in dead)
    reasons = {r.message_id: r.reason for r in dead}
    assert "not JSON" in reasons["not-json-1"]
    assert "ValidationError" in reasons[bad_payload.id] and "order_id" in reasons[bad_payload.id]
    assert "invalid CloudEvent" in reasons["no-envelope"]
    assert await probe.effect_counts(pipeline.db) == (30, 30)
    await consumer.stop()
    assert await _queue_depth(pipeline) == 0, "every good message was acked, none left behind"


async def _queue_depth(pipeline) -> int:
    """Messages in the queue, including unacked ones returned by stopping the consumer."""
    if pipeline.kind == "inprocess":
        return pipeline.bus.depth(pipeline.queue)
    connection = await aio_pika.connect(pipeline.bus.url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(pipeline.queue, passive=True)
        return queue.declaration_result.message_count
    finally:
        await connection.close()


async def test_unroutable_publish_is_an_error_and_retried(pipeline):
    """With no queue bound, the broker cannot take the message: the row stays pending."""
    relay = pipeline.relay()
    await probe.write_orders(pipeline.db, 3)
    assert await relay.publish_batch() == 3
    assert await _outbox_pending(pipeline) == 3
    async with pipeline.db.sessions() as s:
        errors = (await s.execute(select(probe.outbox.c.attempts, probe.outbox.c.last_error))).all()
    assert [a for a, _ in errors] == [1, 1, 1]
    assert all("unroutable" in e.lower() or "NO_ROUTE" in e for _, e in errors), errors


async def test_evt_req_2_database_outage_holds_messages_instead_of_dead_lettering(
        create_pg_database, rabbit_names, amqp_url):
    """The consumer's database refuses connections for a while: messages wait (the delivery
    limit is 2, so counting the outage as failures would dead-letter them), none reaches the
    DLQ, and every one takes effect once when the database is back."""
    url = await create_pg_database("outage")
    name = url.rsplit("/", 1)[1]
    db = Database(url)
    await probe.create_schema(db)
    bus = RabbitBus(amqp_url, exchange=rabbit_names("events"), dlx=rabbit_names("dlx"))
    await bus.connect()
    consumer = probe.make_consumer(db, bus, rabbit_names("probe"), delivery_limit=2,
                                   backoff_seconds=0.01)
    admin = await asyncpg.connect("postgresql://root@127.0.0.1:5432/postgres")
    try:
        ids = await probe.write_orders(db, 40)
        await bus.declare(consumer.spec)
        relay = probe.make_relay(db, bus)
        while await relay.publish_batch():
            pass
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = $1", name)
        await consumer.start()

        async def waited_through_outage() -> bool:
            return consumer.outage_waits._value.get() >= 3

        await probe.wait_for(waited_through_outage, within=30, what="consumer meeting the outage")
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

        async def applied() -> bool:
            return (await probe.effect_counts(db))[1] == 40

        await probe.wait_for(applied, within=60, what="40 effects after the outage")
        assert await probe.effect_counts(db) == (40, 40)
        async with db.sessions() as session:
            applied_ids = set((await session.execute(select(probe.effects.c.event_id))).scalars())
        assert applied_ids == set(ids)
        assert consumer.dead_lettered._value.get() == 0
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
        await consumer.stop()
        await bus.close()
        await db.dispose()
