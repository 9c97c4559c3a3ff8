"""A minimal service-shaped pipeline over the messaging layer: a business table written
together with its events, the relay, and a consumer whose effect is one row per event.

Used by the contract tests, the reliability drills (which run its consumer as a separate
process they can kill) and the throughput benchmark, so all three measure the real thing.
Run a consumer alone with `python -m kit.messaging.probe consume --db URL --amqp URL ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import Awaitable, Callable

import uvloop
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry

from kit.db import Database
from kit.ids import uuid7
from kit.messaging.consumer import Consumer, Subscription, event_handler
from kit.messaging.envelope import CloudEvent, new_event
from kit.messaging.outbox import add_events
from kit.messaging.rabbit import RabbitBus
from kit.messaging.relay import OutboxRelay
from kit.messaging.schema import BigIntPK, create_messaging_schema, messaging_tables
from kit.messaging.transport import Bus

EVENT_TYPE = "billing.probe.created.v1"
ROUTING_KEY = "probe.created"

metadata = MetaData()
outbox, inbox = messaging_tables(metadata)
orders = Table("probe_orders", metadata,
               Column("id", String(36), primary_key=True),
               Column("amount", Integer, nullable=False))
effects = Table("probe_effects", metadata,
                Column("seq", BigIntPK, primary_key=True, autoincrement=True),
                Column("event_id", String(64), nullable=False),
                Column("order_id", String(36), nullable=False))


class ProbeCreated(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    order_id: str
    amount: int


async def create_schema(db: Database) -> None:
    """The messaging tables through the same migration step services use, plus probe tables."""

    def run(sync_conn) -> None:  # type: ignore[no-untyped-def]
        create_messaging_schema(Operations(MigrationContext.configure(sync_conn)))
        orders.create(sync_conn)
        effects.create(sync_conn)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


class Effect:
    """One applied event. Mapped so a batch's effects flush as one multi-row INSERT, as
    services' ORM writes do."""

    def __init__(self, event_id: str, order_id: str) -> None:
        self.event_id = event_id
        self.order_id = order_id


registry().map_imperatively(Effect, effects)


async def _record_effect(session: AsyncSession, event: CloudEvent, data: ProbeCreated) -> None:
    session.add(Effect(event.id, data.order_id))


def subscription(queue: str) -> Subscription:
    return Subscription(queue=queue, bindings=(ROUTING_KEY,),
                        handler=event_handler(ProbeCreated, _record_effect))


async def write_orders(db: Database, count: int, *, per_transaction: int = 1,
                       fail: bool = False) -> list[str]:
    """Business transactions: each writes `per_transaction` orders and their events.
    With `fail`, each transaction raises after writing, so nothing must be published."""
    ids: list[str] = []
    for start in range(0, count, per_transaction):
        n = min(per_transaction, count - start)
        event_ids = [str(uuid7()) for _ in range(n)]
        events = [new_event(EVENT_TYPE, source="/probe", event_id=eid,
                            data={"order_id": eid, "amount": 100 + i})
                  for i, eid in enumerate(event_ids)]
        try:
            async with db.transaction() as session:
                await session.execute(insert(orders), [
                    {"id": e.id, "amount": e.data["amount"]} for e in events])
                await add_events(session, outbox, events)
                if fail:
                    raise RuntimeError("business rule failed after writing")
        except RuntimeError:
            if not fail:
                raise
        ids.extend(e.id for e in events)
    return ids


async def effect_counts(db: Database) -> tuple[int, int]:
    """(rows, distinct event ids) in the effect table: equal when nothing applied twice."""
    async with db.sessions() as session:
        row = (await session.execute(
            select(func.count(), func.count(effects.c.event_id.distinct())))).one()
        return int(row[0]), int(row[1])


async def wait_for(condition: Callable[[], Awaitable[bool]], *, within: float,
                   what: str) -> None:
    """Poll a condition on real state until it holds; fail loudly with `what` on timeout."""
    deadline = time.monotonic() + within
    while True:
        if await condition():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


def make_relay(db: Database, bus: Bus, **kwargs: object) -> OutboxRelay:
    return OutboxRelay(db, outbox, bus, **kwargs)  # type: ignore[arg-type]


def make_consumer(db: Database, bus: Bus, queue: str, **kwargs: object) -> Consumer:
    return Consumer(db, inbox, bus, subscription(queue), **kwargs)  # type: ignore[arg-type]


async def _consume_forever(args: argparse.Namespace) -> None:
    db = Database(args.db)
    bus = RabbitBus(args.amqp, exchange=args.exchange, dlx=args.dlx, connection_name="probe")
    await bus.connect()
    consumer = make_consumer(db, bus, args.queue, delivery_limit=args.delivery_limit)
    await consumer.start()
    print("consuming", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await consumer.stop()
    await bus.close()
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="kit.messaging.probe")
    sub = parser.add_subparsers(dest="command", required=True)
    consume = sub.add_parser("consume")
    consume.add_argument("--db", required=True)
    consume.add_argument("--amqp", required=True)
    consume.add_argument("--exchange", required=True)
    consume.add_argument("--dlx", required=True)
    consume.add_argument("--queue", required=True)
    consume.add_argument("--delivery-limit", type=int, default=5)
    args = parser.parse_args()
    uvloop.run(_consume_forever(args))  # the loop uvicorn gives the services


if __name__ == "__main__":
    main()
