"""Pytest fixtures shared by every test suite (registered from the root conftest.py).

Real infrastructure only: each test gets fresh PostgreSQL databases (dropped afterwards) and
its own RabbitMQ names, so tests never see each other's data or messages.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aio_pika
import pytest
import pytest_asyncio

from kit.db import drop_postgres_database, ensure_postgres_database

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


@pytest_asyncio.fixture
async def rabbit_names() -> AsyncIterator[Callable[[str], str]]:
    """Unique exchange/queue names for one test; everything made with them is deleted after."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
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
