"""End-to-end event throughput: business transaction with outbox -> relay -> RabbitMQ ->
consumer with inbox dedupe -> committed effect, next to a raw aio-pika baseline (persistent
publish with confirms + consume-and-ack on a quorum queue) measured in the same run.

Run: `make bench` (all benchmarks) or
`uv run python bench/bench_events.py [--events N] [--rounds N]`. The machine may be shared:
the load average is recorded with every round, and only figures of one run are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import uvloop
from kit.db import Database, drop_postgres_database, ensure_postgres_database
from kit.messaging import RabbitBus, probe

PG = "postgresql+asyncpg://root@127.0.0.1:5432"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
RESULTS = Path(__file__).parent / "results"


def _spawn(args: list[str]) -> subprocess.Popen[str]:
    """A consumer in its own process (as in deployment: the consuming service is another
    process); returns once it says it is consuming, so start-up is not timed."""
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != "consuming":
        process.kill()
        raise RuntimeError(f"consumer did not start: {line!r}")
    return process


async def raw_consume(queue_name: str, count: int) -> None:
    """The baseline consumer: manual ack of each message, nothing else."""
    connection = await aio_pika.connect(AMQP)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=200)
    queue = await channel.get_queue(queue_name)
    done = asyncio.Event()
    received = 0

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal received
        await message.ack()
        received += 1
        if received == count:
            done.set()

    await queue.consume(on_message)
    print("consuming", flush=True)
    await done.wait()
    await connection.close()


async def raw_baseline(n: int, window: int) -> float:
    """Messages/s for the broker alone: publish n persistent messages with confirms (pipelined
    `window` at a time) to a quorum queue, while another process consumes and acks them."""
    name = f"bench.raw.{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(AMQP)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(name, durable=True,
                                            arguments={"x-queue-type": "quorum"})
        await queue.bind(exchange, "raw.#")
        consumer = _spawn([__file__, "--raw-consume", name, "--events", str(n)])
        body = json.dumps({"specversion": "1.0", "data": {"order_id": "x" * 36}}).encode()
        started = time.perf_counter()
        for start in range(0, n, window):
            await asyncio.gather(*(
                exchange.publish(aio_pika.Message(body, message_id=str(uuid.uuid4()),
                                                  delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                 routing_key="raw.created")
                for _ in range(min(window, n - start))))
        code = await asyncio.to_thread(consumer.wait, 600)
        elapsed = time.perf_counter() - started
        assert code == 0, "raw consumer failed"
        await queue.delete(if_unused=False, if_empty=False)
        await exchange.delete()
        return n / elapsed
    finally:
        await connection.close()


async def pipeline(n: int, writers: int, per_transaction: int) -> float:
    """Events/s through the whole pipeline, from the first business write to the last effect
    committed by the consuming process."""
    url = f"{PG}/bench_events_{uuid.uuid4().hex[:8]}"
    await ensure_postgres_database(url)
    db = Database(url, pool_size=writers + 4)
    tag = uuid.uuid4().hex[:8]
    exchange, dlx, queue = f"bench.{tag}.events", f"bench.{tag}.dlx", f"bench.{tag}.probe"
    bus = RabbitBus(AMQP, exchange=exchange, dlx=dlx)
    consumer = None
    try:
        await probe.create_schema(db)
        await bus.connect()
        consumer = _spawn(["-m", "kit.messaging.probe", "consume", "--db", url, "--amqp", AMQP,
                           "--exchange", exchange, "--dlx", dlx, "--queue", queue])
        relay = probe.make_relay(db, bus, batch_size=500, poll_seconds=0.5)
        await relay.start()
        started = time.perf_counter()
        await asyncio.gather(*(probe.write_orders(db, n // writers, per_transaction=per_transaction)
                               for _ in range(writers)))

        async def all_applied() -> bool:
            return (await probe.effect_counts(db))[1] >= n

        await probe.wait_for(all_applied, within=600, what="all effects")
        elapsed = time.perf_counter() - started
        await relay.stop()
        assert await probe.effect_counts(db) == (n, n)
        return n / elapsed
    finally:
        if consumer is not None:
            consumer.terminate()
            consumer.wait(30)
        await bus.close()
        await db.dispose()
        await drop_postgres_database(url)
        connection = await aio_pika.connect(AMQP)
        channel = await connection.channel()
        for q in (queue, f"{queue}.dlq"):
            await channel.queue_delete(q)
        for x in (exchange, dlx):
            await channel.exchange_delete(x)
        await connection.close()


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-transaction", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3,
                        help="raw and pipeline measured alternately this many times; the ratio "
                             "is taken within each round and the median reported")
    parser.add_argument("--raw-consume", metavar="QUEUE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_consume:
        await raw_consume(args.raw_consume, args.events)
        return
    rounds = []
    for index in range(args.rounds):
        load_before = _load()
        raw = await raw_baseline(args.events, window=500)
        ours = await pipeline(args.events, args.writers, args.per_transaction)
        rounds.append({"raw_msgs_per_s": round(raw), "pipeline_events_per_s": round(ours),
                       "ratio": round(ours / raw, 3), "load_average_before": load_before,
                       "load_average_after": _load()})
        print(f"round {index + 1}: raw {raw:7.0f} msg/s, pipeline {ours:7.0f} events/s, "
              f"ratio {ours / raw:4.2f}, load average {load_before} -> {_load()}", flush=True)
    raw = statistics.median(r["raw_msgs_per_s"] for r in rounds)
    ours = statistics.median(r["pipeline_events_per_s"] for r in rounds)
    ratio = statistics.median(r["ratio"] for r in rounds)
    print(f"raw aio-pika publish+confirm / consume+ack : {raw:10.0f} msg/s (median)")
    print(f"outbox -> relay -> broker -> inbox -> effect: {ours:10.0f} events/s (median; "
          f"{args.writers} writers, {args.per_transaction} event(s) per transaction)")
    print(f"ratio                                       : {ratio:10.2f}  (median of rounds; "
          f"target >= 0.60)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "events.json").write_text(json.dumps({
        "benchmark": "end-to-end event throughput", "measured_at": datetime.now(UTC).isoformat(),
        "machine": platform.platform(), "cpus": os.cpu_count(), "events": args.events,
        "writers": args.writers, "events_per_transaction": args.per_transaction,
        "raw_msgs_per_s": round(raw), "pipeline_events_per_s": round(ours),
        "ratio": round(ratio, 3), "target": 0.6,
        "note": "medians over rounds; each round measures raw then pipeline back to back, "
                "ratio taken within the round; other work on the machine shows in the load "
                "average",
        "rounds": rounds,
    }, indent=2) + "\n")


if __name__ == "__main__":
    uvloop.run(main())  # services run on uvicorn's uvloop; so do both sides here
