"""Pytest fixtures shared by every test suite (registered from the root conftest.py).

Real infrastructure only: each test gets fresh PostgreSQL databases (dropped afterwards) and
its own RabbitMQ names, so tests never see each other's data or messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy import select
from sqlalchemy.engine import make_url

from kit.db import drop_postgres_database, ensure_postgres_database
from kit.messaging.probe import wait_for

PG_BASE = os.environ.get("TEST_PG_URL", "postgresql+asyncpg://root@127.0.0.1:5432")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

CreateDatabase = Callable[[str], Awaitable[str]]


@pytest_asyncio.fixture
async def create_pg_database() -> AsyncIterator[CreateDatabase]:
    """Call with a label; returns the URL of a new empty database, dropped after the test."""
    made: list[str] = []

    async def create(label: str) -> str:
        url = f"{PG_BASE}/t_{label}_{uuid.uuid4().hex[:12]}"
        await ensure_postgres_database(url)
        made.append(url)
        return url

    yield create
    for url in made:
        await drop_postgres_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Callable[[str], str]:
    return lambda label: f"sqlite+aiosqlite:///{tmp_path / (label + '.db')}"


@pytest.fixture
def amqp_url() -> str:
    return AMQP_URL


#: This pytest session's part of every test name, so the end-of-session sweep removes this
#: session's queues only (another session may share the broker, e.g. CI beside a developer).
SESSION = uuid.uuid4().hex[:4]
TEST_NAME = re.compile(rf"^t{SESSION}[0-9a-f]{{6}}\.")


def new_name_prefix() -> str:
    """A fresh `t<10 hex>` name prefix of this session (swept at its end)."""
    return f"t{SESSION}{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session", autouse=True)
def _remove_test_queues_at_session_end():
    """Services derive more queue names from a test's exchange than `rabbit_names` handed
    out (`<exchange>.<service>.<purpose>`); one sweep at the end removes them all."""
    yield
    try:
        listed = rabbitmqctl("list_queues", "name", "--quiet", "--no-table-headers")
    except (OSError, subprocess.SubprocessError):
        return
    names = [n.strip() for n in listed.splitlines() if TEST_NAME.match(n.strip())]
    if names:
        asyncio.run(_delete_queues(names))


async def _delete_queues(names: list[str]) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        for name in names:
            channel = await connection.channel()
            try:
                await channel.queue_delete(name)
            except Exception:
                pass
            finally:
                if not channel.is_closed:
                    await channel.close()
    finally:
        await connection.close()


@pytest_asyncio.fixture
async def rabbit_names() -> AsyncIterator[Callable[[str], str]]:
    """Unique exchange/queue names for one test; everything made with them is deleted after."""
    prefix = new_name_prefix()
    made: list[str] = []

    def name(base: str) -> str:
        full = f"{prefix}.{base}"
        made.append(full)
        return full

    yield name
    connection = await aio_pika.connect(AMQP_URL)
    try:
        for full in made:
            for kind in ("queue", "exchange"):
                channel = await connection.channel()
                try:
                    if kind == "queue":
                        await channel.queue_delete(full)
                        await channel.queue_delete(f"{full}.dlq")
                    else:
                        await channel.exchange_delete(full)
                except Exception:
                    pass
                finally:
                    if not channel.is_closed:
                        await channel.close()
    finally:
        await connection.close()


def rabbitmqctl(*args: str, timeout: float = 120) -> str:
    """Run rabbitmqctl (tests that break the broker on purpose)."""
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True,
                          timeout=timeout, check=True)
    return done.stdout


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for processes that bind it themselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def free_port_range(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive ports that were all free a moment ago, below Linux's
    ephemeral range (32768+), so outgoing connections of a busy machine do not take them
    meanwhile (``free_port`` + 1 may well be in use)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32768 - count)
        held: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(sock)
                sock.bind((host, port))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
        yield


@contextlib.asynccontextmanager
async def serving(app: Any, *, graceful_seconds: float = 0.5) -> AsyncIterator[str]:
    """An ASGI app under uvicorn on a free port in the running event loop; yields its base URL.
    The socket listens before the server task starts, so requests queue instead of racing
    start-up. It is made with ``IPPROTO_TCP`` spelled out: asyncio turns Nagle off only on
    connections whose socket says so, and without that a keep-alive answer written in two
    parts waits ~40 ms for the client's delayed ACK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = _QuietServer(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False,
                                         timeout_graceful_shutdown=graceful_seconds))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class LockGate:
    """Makes concurrent requests overlap in PostgreSQL for certain, without sleeps: hold a lock
    from a connection of its own (``hold``), fire the requests, wait until ``pg_stat_activity``
    shows that many sessions blocked on a lock (``wait_until_blocked``), then ``release``.
    ``run`` does all of it for a batch of calls and returns their results."""

    def __init__(self, database_url: str) -> None:
        self.url = make_url(database_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.conn: asyncpg.Connection | None = None

    async def hold(self, sql: str, *args: Any) -> None:
        self.conn = await asyncpg.connect(self.url)
        await self.conn.execute("BEGIN")
        await self.conn.execute(sql, *args)

    async def waiting(self) -> int:
        """Sessions of this database (other than the gate's) waiting on a lock now."""
        assert self.conn is not None
        await self.conn.execute("SELECT pg_stat_clear_snapshot()")  # fresh, in a transaction
        return await self.conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")

    async def wait_until_blocked(self, count: int, what: str = "",
                                 tasks: list[asyncio.Future[Any]] | None = None) -> None:
        """Until ``count`` sessions wait; none of ``tasks`` may finish meanwhile."""
        async def blocked() -> bool:
            finished = [t for t in tasks or () if t.done()]
            assert not finished, [t.result() for t in finished]  # none may get past the lock
            return await self.waiting() >= count

        await wait_for(blocked, within=20.0, what=what or f"{count} sessions waiting on a lock")

    async def release(self) -> None:
        if self.conn is not None:
            await self.conn.execute("ROLLBACK")
            await self.conn.close()
            self.conn = None

    async def run(self, waiters: int, *calls: Awaitable[Any]) -> list[Any]:
        tasks = [asyncio.ensure_future(call) for call in calls]
        try:
            await self.wait_until_blocked(waiters, tasks=tasks)
        finally:
            await self.release()
        return list(await asyncio.gather(*tasks))


def fill_placeholders(value: Any, names: dict[str, Any]) -> Any:
    """``{name}`` in the strings of a (nested) request template replaced from ``names``. A string
    that is exactly one placeholder becomes the value itself, so ids keep their JSON type."""
    if isinstance(value, str):
        for name, replacement in names.items():
            if value == "{" + name + "}":
                return replacement
            value = value.replace("{" + name + "}", str(replacement))
        return value
    if isinstance(value, list):
        return [fill_placeholders(v, names) for v in value]
    if isinstance(value, dict):
        return {k: fill_placeholders(v, names) for k, v in value.items()}
    return value


async def table_contents(engine: Any, tables: Iterable[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each table, in a stable order: compare before and after to prove that a
    refused request changed nothing (row counts would miss an update)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for table in tables:
            rows = (await conn.execute(select(table))).all()
            out[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return out
