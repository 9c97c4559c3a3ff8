"""A messaging pipeline per test, on either transport: RabbitMQ with PostgreSQL (distributed
mode) or the in-process bus with SQLite (embedded mode). Contract tests take `pipeline` and run
against both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from kit.db import Database
from kit.messaging import InProcessBus, RabbitBus, probe
from kit.messaging.consumer import Consumer
from kit.messaging.relay import OutboxRelay
from kit.messaging.transport import Bus


@dataclass
class Pipeline:
    kind: str
    db: Database
    bus: Bus
    queue: str
    started: list[object] = field(default_factory=list)

    def relay(self, **kwargs: object) -> OutboxRelay:
        relay = probe.make_relay(self.db, self.bus, **kwargs)
        self.started.append(relay)
        return relay

    def consumer(self, **kwargs: object) -> Consumer:
        kwargs.setdefault("backoff_seconds", 0.01)
        consumer = probe.make_consumer(self.db, self.bus, self.queue, **kwargs)
        self.started.append(consumer)
        return consumer


@pytest_asyncio.fixture(params=["rabbitmq", "inprocess"])
async def pipeline(request: pytest.FixtureRequest, create_pg_database, sqlite_url, rabbit_names,
                   amqp_url) -> AsyncIterator[Pipeline]:
    if request.param == "rabbitmq":
        db = Database(await create_pg_database("kit"))
        bus: Bus = RabbitBus(amqp_url, exchange=rabbit_names("events"), dlx=rabbit_names("dlx"))
        queue = rabbit_names("probe")
    else:
        db = Database(sqlite_url("kit"))
        bus = InProcessBus()
        queue = "probe.effects"
    await probe.create_schema(db)
    await bus.connect()
    p = Pipeline(request.param, db, bus, queue)
    try:
        yield p
    finally:
        for part in reversed(p.started):
            await part.stop()  # type: ignore[attr-defined]
        await bus.close()
        await db.dispose()
