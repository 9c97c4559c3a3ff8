"""Ledger ingestion throughput: `order.paid` events from tools/sim through RabbitMQ into
committed consumption records (invoice-svc's real ledger consumer: inbox dedupe, its real
handler, on a fresh PostgreSQL database), next to the raw aio-pika consume-and-ack rate of the
same messages in the same run.

Both sides read the same published messages: one sim publish fills two quorum queues bound to
the same (throw-away) exchange, declared with the service's own QueueSpec (same arguments,
same delivery limit, same prefetch). Publishing comes first and is not timed; then each queue
is drained and timed on its own, raw first:

- raw: an aio-pika consumer with the service's prefetch that acks each message, nothing else;
- invoice-svc: `kit.messaging.Consumer` with `invoice_svc.ledger.handlers.subscription`, built
  exactly as `kit.service` builds it (ServiceSettings' prefetch, batch size, delivery limit),
  timed from `start()` to the moment its last batch is committed.

Afterwards the database is checked: one inbox row per message, one record per event with cash,
the ledger rows summing the counted records. Target: invoice-svc >= 0.6 of raw.

The monthly buckets the proposals use (`invoice_svc.ledger.buckets`, trigger-kept on every
record insert) have no migration yet; they are created after the migrations, as they will be,
unless `--without-buckets`.

Run: `uv run python bench/bench_ingestion.py [--events N] [--profile FILE]`; writes
bench/results/ingestion.json. `--profile` writes cProfile stats of the invoice-svc drain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import json
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import invoice_svc
import uvloop
from bench_invoice import DROP_BUCKETS
from invoice_svc.config import Settings
from invoice_svc.db import inbox
from invoice_svc.ledger import handlers as ledger_handlers
from invoice_svc.ledger.events_in import ORDER_PAID
from invoice_svc.ledger.models import account_ledgers, consumption_records
from kit.clock import SystemClock
from kit.db import Database, drop_postgres_database, ensure_postgres_database
from kit.messaging import CloudEvent, Consumer, QueueSpec, RabbitBus
from kit.migrations import upgrade_to_head_async
from kit.money import parse_yuan
from sim.generator import SimConfig, generate
from sim.publisher import publish_events
from sqlalchemy import func, select, text

PG = "postgresql+asyncpg://root@127.0.0.1:5432"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
RESULTS = Path(__file__).parent / "results"
TARGET = 0.6
#: invoice-svc's migrations (the service's `create_app` migrates from the same folder).
MIGRATIONS = Path(invoice_svc.__file__).resolve().parents[2] / "migrations"


def order_paid_events(count: int, seed: int = 7) -> list[CloudEvent]:
    """The first `count` order.paid events of a sim stream (many accounts, a year)."""
    config = SimConfig(seed=seed, accounts=max(10, count // 40), months=12)
    events = [e for e in generate(config) if e.type == ORDER_PAID][:count]
    if len(events) < count:
        raise RuntimeError(f"the sim stream has only {len(events)} order.paid events")
    return events


async def drain_raw(queue_name: str, count: int, prefetch: int) -> tuple[float, float]:
    """Seconds (wall, and CPU of this process) to consume and ack `count` messages one by
    one, nothing else."""
    connection = await aio_pika.connect(AMQP)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(queue_name, ensure=False)
        done = asyncio.Event()
        received = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal received
            await message.ack()
            received += 1
            if received == count:
                done.set()

        started, cpu = time.perf_counter(), time.process_time()
        tag = await queue.consume(on_message)
        await done.wait()
        elapsed = time.perf_counter() - started, time.process_time() - cpu
        await queue.cancel(tag)
        return elapsed
    finally:
        await connection.close()


class _Timed(Consumer):
    """The kit's consumer, telling when `count` messages are settled (handled or dropped as
    duplicates) and committed: the timing adds nothing to the consuming path."""

    def expect(self, count: int) -> None:
        self.count = count
        self.all_committed = asyncio.Event()

    async def _apply(self, items: Any) -> None:
        await super()._apply(items)
        if self.handled._value.get() + self.duplicates._value.get() >= self.count:
            self.all_committed.set()


async def drain_service(db: Database, bus: RabbitBus, settings: Settings, count: int,
                        profile: cProfile.Profile | None) -> tuple[float, float]:
    """Seconds (wall, and CPU of this process) for invoice-svc's ledger consumer to handle
    and commit `count` messages."""
    sub = ledger_handlers.subscription(settings, SystemClock())
    consumer = _Timed(  # as kit.service.build_service_app makes it
        db, inbox, bus, dataclasses.replace(sub, queue=settings.queue_name(sub.queue)),
        delivery_limit=settings.delivery_limit, prefetch=settings.consumer_prefetch,
        batch_size=settings.consumer_batch_size,
        backoff_seconds=settings.retry_backoff_seconds)
    consumer.expect(count)
    if profile is not None:
        profile.enable()
    started, cpu = time.perf_counter(), time.process_time()
    await consumer.start()
    await consumer.all_committed.wait()
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    if profile is not None:
        profile.disable()
    await consumer.stop()
    return elapsed


async def check_database(db: Database, events: list[CloudEvent]) -> dict[str, int]:
    """What must hold after the drain: every message once in the inbox, one record per event
    with cash, the ledger rows summing the counted ones."""
    records, ledgers = consumption_records, account_ledgers
    with_cash = [e for e in events if parse_yuan(e.data["cash_amount"]) > 0]
    counted = sum(parse_yuan(e.data["cash_amount"]) for e in with_cash
                  if not e.data.get("marketplace"))
    async with db.engine.connect() as conn:
        inbox_rows = (await conn.execute(select(func.count()).select_from(inbox))).scalar_one()
        record_rows = (await conn.execute(
            select(func.count()).select_from(records))).scalar_one()
        ledger_sum = (await conn.execute(
            select(func.coalesce(func.sum(ledgers.c.records_balance_fen), 0)))).scalar_one()
    assert inbox_rows == len(events), (inbox_rows, len(events))
    assert record_rows == len(with_cash), (record_rows, len(with_cash))
    assert ledger_sum == counted, (ledger_sum, counted)
    return {"inbox_rows": inbox_rows, "records": record_rows, "ledger_fen": int(ledger_sum)}


async def run(count: int, profile_to: Path | None, *, with_buckets: bool) -> dict[str, Any]:
    events = order_paid_events(count)
    tag = uuid.uuid4().hex[:8]
    url = f"{PG}/bench_ingestion_{tag}"
    exchange, dlx = f"bench.{tag}.events", f"bench.{tag}.dlx"
    settings = Settings(database_url=url, bus="rabbitmq", amqp_url=AMQP,
                        events_exchange=exchange, dlx_exchange=dlx)
    service_spec = QueueSpec(settings.queue_name(ledger_handlers.QUEUE), ledger_handlers.BINDINGS,
                             delivery_limit=settings.delivery_limit,
                             prefetch=settings.consumer_prefetch)
    raw_spec = dataclasses.replace(service_spec, name=f"{exchange}.raw")
    sim_bus = RabbitBus(AMQP, exchange=exchange, dlx=dlx, connection_name="bench-sim")
    service_bus = RabbitBus(AMQP, exchange=exchange, dlx=dlx, connection_name="invoice-svc")
    await ensure_postgres_database(url)
    db = Database(url)
    profile = cProfile.Profile() if profile_to is not None else None
    try:
        await upgrade_to_head_async(MIGRATIONS, url)
        if not with_buckets:
            async with db.engine.begin() as conn:
                for statement in DROP_BUCKETS:
                    await conn.execute(text(statement))
        await sim_bus.connect()
        await service_bus.connect()
        for spec in (raw_spec, service_spec):
            await sim_bus.declare(spec)
        began = time.perf_counter()
        report = await publish_events(sim_bus, events, batch_size=500, progress=False)
        publish_s = time.perf_counter() - began
        assert report.published == count, report
        raw_s, raw_cpu = await drain_raw(raw_spec.name, count, raw_spec.prefetch)
        service_s, service_cpu = await drain_service(db, service_bus, settings, count, profile)
        checked = await check_database(db, events)
    finally:
        await sim_bus.close()
        await service_bus.close()
        await db.dispose()
        await drop_postgres_database(url)
        await _delete_topology(exchange, dlx, (raw_spec, service_spec))
    if profile is not None and profile_to is not None:
        profile.dump_stats(str(profile_to))
    return {"events": count, "publish_seconds": round(publish_s, 3),
            "raw_seconds": round(raw_s, 3), "service_seconds": round(service_s, 3),
            "raw_per_s": count / raw_s, "service_per_s": count / service_s,
            "ratio": raw_s / service_s,
            "raw_cpu_us_per_message": raw_cpu / count * 1e6,
            "service_cpu_us_per_event": service_cpu / count * 1e6, "checked": checked}


async def _delete_topology(exchange: str, dlx: str, specs: tuple[QueueSpec, ...]) -> None:
    connection = await aio_pika.connect(AMQP)
    try:
        channel = await connection.channel()
        for spec in specs:
            for name in (spec.name, spec.dlq):
                with contextlib.suppress(Exception):
                    await channel.queue_delete(name)
        for name in (exchange, dlx):
            with contextlib.suppress(Exception):
                await channel.exchange_delete(name)
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5,
                        help="fresh database and queues each; the figures are medians")
    parser.add_argument("--profile", type=Path, help="cProfile stats of the invoice-svc drain")
    parser.add_argument("--without-buckets", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "ingestion.json")
    args = parser.parse_args()
    settings = Settings()
    runs = []
    for n in range(args.runs):
        result = await run(args.events, args.profile if n == 0 else None,
                           with_buckets=not args.without_buckets)
        runs.append(result)
        print(f"run {n + 1}: raw {result['raw_per_s']:8.0f} msg/s | invoice-svc "
              f"{result['service_per_s']:8.0f} events/s | ratio {result['ratio']:.2f} | "
              f"CPU here per message: raw {result['raw_cpu_us_per_message']:.0f} us, "
              f"invoice-svc {result['service_cpu_us_per_event']:.0f} us", flush=True)
    raw = statistics.median(r["raw_per_s"] for r in runs)
    ours = statistics.median(r["service_per_s"] for r in runs)
    ratio = statistics.median(r["ratio"] for r in runs)
    raw_cpu = statistics.median(r["raw_cpu_us_per_message"] for r in runs)
    ours_cpu = statistics.median(r["service_cpu_us_per_event"] for r in runs)
    print(f"raw aio-pika consume+ack (quorum, prefetch {settings.consumer_prefetch}): "
          f"{raw:8.0f} msg/s")
    print(f"sim -> broker -> invoice-svc ledger (inbox, records, ledger rows): "
          f"{ours:8.0f} events/s (batch {settings.consumer_batch_size})")
    print(f"ratio (median of {len(runs)} runs): {ratio:.2f}  (target >= {TARGET}); "
          f"consumer CPU per message: raw {raw_cpu:.0f} us, invoice-svc {ours_cpu:.0f} us")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "invoice-svc ledger ingestion (order.paid)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(), "python": platform.python_version(),
        "events": args.events, "prefetch": settings.consumer_prefetch,
        "batch_size": settings.consumer_batch_size, "queue": "quorum",
        "month_buckets": not args.without_buckets,
        "raw_msgs_per_s": round(raw), "service_events_per_s": round(ours),
        "ratio": round(ratio, 3), "target": TARGET, "meets_target": ratio >= TARGET,
        "raw_cpu_us_per_message": round(raw_cpu, 1),
        "service_cpu_us_per_event": round(ours_cpu, 1),
        "runs": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                 for r in runs],
    }, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    uvloop.run(main())  # services run on uvicorn's uvloop
