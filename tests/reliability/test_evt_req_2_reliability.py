"""EVT-REQ-2 under failure: broker connections dropped, the broker stopped and restarted,
a consumer process killed with SIGKILL, each in the middle of a 10,000-event stream written in
business transactions. Real PostgreSQL and RabbitMQ; the effect table shows every event
exactly once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio
from kit.db import Database
from kit.messaging import RabbitBus, probe
from kit.testing import rabbitmqctl

pytestmark = pytest.mark.reliability

EVENTS = 10_000
PRODUCERS = 4


@dataclass
class Stream:
    db: Database
    bus: RabbitBus
    db_url: str
    exchange: str
    dlx: str
    queue: str


@pytest_asyncio.fixture
async def stream(create_pg_database, rabbit_names, amqp_url) -> AsyncIterator[Stream]:
    url = await create_pg_database("rel")
    db = Database(url)
    await probe.create_schema(db)
    exchange, dlx, queue = rabbit_names("events"), rabbit_names("dlx"), rabbit_names("probe")
    bus = RabbitBus(amqp_url, exchange=exchange, dlx=dlx, connection_name="reliability")
    await bus.connect()
    try:
        yield Stream(db, bus, url, exchange, dlx, queue)
    finally:
        await bus.close()
        await db.dispose()


async def produce(db: Database) -> list[str]:
    """EVENTS events from PRODUCERS concurrent writers, five per business transaction."""
    parts = await asyncio.gather(*(
        probe.write_orders(db, EVENTS // PRODUCERS, per_transaction=5) for _ in range(PRODUCERS)))
    return [eid for part in parts for eid in part]


def applied_at_least(db: Database, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await probe.effect_counts(db))[1] >= n
    return check


async def assert_exactly_once(db: Database, ids: list[str]) -> None:
    await probe.wait_for(applied_at_least(db, len(ids)), within=240,
                         what=f"{len(ids)} distinct effects")
    assert len(set(ids)) == EVENTS
    assert await probe.effect_counts(db) == (EVENTS, EVENTS)


async def test_evt_req_2_no_loss_no_duplicate_when_connections_drop(stream: Stream):
    consumer = probe.make_consumer(stream.db, stream.bus, stream.queue)
    relay = probe.make_relay(stream.db, stream.bus, batch_size=200, poll_seconds=0.5)
    await consumer.start()
    await relay.start()
    try:
        async def chaos() -> int:
            drops = 0
            for threshold in (1_000, 4_000, 7_000):
                await probe.wait_for(applied_at_least(stream.db, threshold), within=120,
                                     what=f"{threshold} effects before dropping connections")
                await asyncio.to_thread(rabbitmqctl, "close_all_connections", "chaos drill")
                drops += 1
            return drops

        ids, drops = await asyncio.gather(produce(stream.db), chaos())
        assert drops == 3
        await assert_exactly_once(stream.db, ids)
    finally:
        await relay.stop()
        await consumer.stop()


async def test_evt_req_2_no_loss_no_duplicate_when_broker_restarts(stream: Stream):
    consumer = probe.make_consumer(stream.db, stream.bus, stream.queue)
    relay = probe.make_relay(stream.db, stream.bus, batch_size=200, poll_seconds=0.5)
    await consumer.start()
    await relay.start()
    try:
        async def restart_broker() -> None:
            await probe.wait_for(applied_at_least(stream.db, 2_500), within=120,
                                 what="2,500 effects before stopping the broker")
            await asyncio.to_thread(rabbitmqctl, "stop_app")
            try:
                before = (await probe.effect_counts(stream.db))[1]
            finally:
                await asyncio.to_thread(rabbitmqctl, "start_app")
                await asyncio.to_thread(rabbitmqctl, "await_startup")
            assert before < EVENTS, "the broker went down mid-stream, not after it"

        ids, _ = await asyncio.gather(produce(stream.db), restart_broker())
        await assert_exactly_once(stream.db, ids)
    finally:
        await relay.stop()
        await consumer.stop()


def start_consumer_process(stream: Stream) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "kit.messaging.probe", "consume", "--db", stream.db_url,
         "--amqp", stream.bus.url, "--exchange", stream.exchange, "--dlx", stream.dlx,
         "--queue", stream.queue],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "consuming"
    return process


async def test_evt_req_2_consumer_killed_with_sigkill_and_restarted(stream: Stream):
    first = await asyncio.to_thread(start_consumer_process, stream)
    relay = probe.make_relay(stream.db, stream.bus, batch_size=200, poll_seconds=0.5)
    await relay.start()
    second = None
    try:
        async def kill_and_restart() -> int:
            nonlocal second
            await probe.wait_for(applied_at_least(stream.db, 3_000), within=120,
                                 what="3,000 effects before killing the consumer")
            first.send_signal(signal.SIGKILL)
            code = await asyncio.to_thread(first.wait, 30)
            killed_at = (await probe.effect_counts(stream.db))[1]
            assert killed_at < EVENTS, "the consumer died mid-stream, not after it"
            second = await asyncio.to_thread(start_consumer_process, stream)
            return code

        ids, code = await asyncio.gather(produce(stream.db), kill_and_restart())
        assert code == -signal.SIGKILL
        await assert_exactly_once(stream.db, ids)
    finally:
        await relay.stop()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                await asyncio.to_thread(process.wait, 30)
