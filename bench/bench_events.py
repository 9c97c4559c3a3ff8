"""End-to-end event throughput: business transaction with outbox -> relay -> RabbitMQ ->
consumer with inbox dedupe -> committed effect, next to a raw aio-pika baseline (persistent
publish with confirms + consume-and-ack on a quorum queue) measured in the same run.

Run: `make bench` (all benchmarks) or `uv run python bench/bench_events.py [--events N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
from kit.db import Database, drop_postgres_database, ensure_postgres_database
from kit.messaging import RabbitBus, probe

PG = "postgresql+asyncpg://root@127.0.0.1:5432"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
RESULTS = Path(__file__).parent / "results"


async def raw_baseline(n: int, window: int) -> float:
    """Messages/s for the broker alone: publish n persistent messages with confirms (pipelined
    `window` at a time), consume them with manual ack, on a quorum queue."""
    name = f"bench.raw.{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(AMQP)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(name, durable=True,
                                            arguments={"x-queue-type": "quorum"})
        await queue.bind(exchange, "raw.#")
        consume_channel = await connection.channel()
        await consume_channel.set_qos(prefetch_count=200)
        cqueue = await consume_channel.get_queue(name)
        done = asyncio.Event()
        received = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal received
            await message.ack()
            received += 1
            if received == n:
                done.set()

        body = json.dumps({"specversion": "1.0", "data": {"order_id": "x" * 36}}).encode()
        started = time.perf_counter()
        await cqueue.consume(on_message)
        for start in range(0, n, window):
            await asyncio.gather(*(
                exchange.publish(aio_pika.Message(body, message_id=str(uuid.uuid4()),
                                                  delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                 routing_key="raw.created")
                for _ in range(min(window, n - start))))
        await done.wait()
        elapsed = time.perf_counter() - started
        await queue.delete(if_unused=False, if_empty=False)
        await exchange.delete()
        return n / elapsed
    finally:
        await connection.close()


async def pipeline(n: int, writers: int, per_transaction: int) -> float:
    """Events/s through the whole pipeline, from the first business write to the last effect."""
    url = f"{PG}/bench_events_{uuid.uuid4().hex[:8]}"
    await ensure_postgres_database(url)
    db = Database(url, pool_size=writers + 4)
    tag = uuid.uuid4().hex[:8]
    bus = RabbitBus(AMQP, exchange=f"bench.{tag}.events", dlx=f"bench.{tag}.dlx")
    try:
        await probe.create_schema(db)
        await bus.connect()
        consumer = probe.make_consumer(db, bus, f"bench.{tag}.probe")
        relay = probe.make_relay(db, bus, batch_size=500, poll_seconds=0.5)
        await consumer.start()
        await relay.start()
        started = time.perf_counter()
        await asyncio.gather(*(probe.write_orders(db, n // writers, per_transaction=per_transaction)
                               for _ in range(writers)))

        async def all_applied() -> bool:
            return (await probe.effect_counts(db))[1] >= n

        await probe.wait_for(all_applied, within=600, what="all effects")
        elapsed = time.perf_counter() - started
        await relay.stop()
        await consumer.stop()
        assert await probe.effect_counts(db) == (n, n)
        connection = await aio_pika.connect(AMQP)
        channel = await connection.channel()
        for q in (f"bench.{tag}.probe", f"bench.{tag}.probe.dlq"):
            await channel.queue_delete(q)
        for x in (f"bench.{tag}.events", f"bench.{tag}.dlx"):
            await channel.exchange_delete(x)
        await connection.close()
        return n / elapsed
    finally:
        await bus.close()
        await db.dispose()
        await drop_postgres_database(url)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-transaction", type=int, default=1)
    args = parser.parse_args()
    raw = await raw_baseline(args.events, window=500)
    ours = await pipeline(args.events, args.writers, args.per_transaction)
    ratio = ours / raw
    print(f"raw aio-pika publish+confirm / consume+ack : {raw:10.0f} msg/s")
    print(f"outbox -> relay -> broker -> inbox -> effect: {ours:10.0f} events/s "
          f"({args.writers} writers, {args.per_transaction} event(s) per transaction)")
    print(f"ratio                                       : {ratio:10.2f}  (target >= 0.60)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "events.json").write_text(json.dumps({
        "benchmark": "end-to-end event throughput", "measured_at": datetime.now(UTC).isoformat(),
        "machine": platform.platform(), "events": args.events, "writers": args.writers,
        "events_per_transaction": args.per_transaction, "raw_msgs_per_s": round(raw),
        "pipeline_events_per_s": round(ours), "ratio": round(ratio, 3), "target": 0.6,
    }, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
