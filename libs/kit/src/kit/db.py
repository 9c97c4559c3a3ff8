"""Database engine, sessions and the unit of work.

`Database.transaction()` is the unit of work: everything done in it (business rows and the
outbox rows describing them) commits or rolls back together. After a commit that wrote outbox
rows, the registered commit hooks run (the relay uses one to wake up without waiting for a poll).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger("kit.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.dialect == "sqlite":
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(
                url, echo=echo, connect_args={"timeout": 30}
            )
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                pool_recycle=1800,
            )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._commit_hooks: list[Callable[[AsyncSession], None]] = []

    def on_commit(self, hook: Callable[[AsyncSession], None]) -> None:
        self._commit_hooks.append(hook)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit on success, roll back on any exception."""
        async with self.sessions() as session:
            async with session.begin():
                yield session
            for hook in self._commit_hooks:
                hook(session)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except (TimeoutError, OSError, DBAPIError, OperationalError):
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


# SQLSTATE classes and codes that say "the database is unavailable or the transaction lost a
# race", not "this input is wrong": connection exceptions, operator intervention, too many
# connections, database not accepting connections, serialization failure, deadlock.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "57P", "53300", "55000", "40001", "40P01")


def is_transient_error(exc: BaseException) -> bool:
    """True when retrying the same work later can succeed (an outage or a lost race)."""
    for err in _causes(exc):
        if isinstance(err, OSError | TimeoutError):
            return True
        if isinstance(err, DBAPIError) and err.connection_invalidated:
            return True
        state = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if isinstance(state, str) and state.startswith(_TRANSIENT_SQLSTATE_PREFIXES):
            return True
        if isinstance(err, asyncpg.exceptions.InterfaceError | asyncpg.PostgresConnectionError):
            return True
        if isinstance(err, OperationalError) and "locked" in str(err):  # SQLite busy
            return True
    return False


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__
                                                                 or current.__context__)
    return seen


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


async def ensure_postgres_database(url: str) -> bool:
    """Create the database named in `url` when it does not exist. Returns True if created."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return False
    name = parsed.database
    admin = await asyncpg.connect(
        host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
        user=parsed.username or "root", password=parsed.password, database="postgres",
    )
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        log.info("created database", extra={"database": name})
        return True
    finally:
        await admin.close()


async def drop_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
        user=parsed.username or "root", password=parsed.password, database="postgres",
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await admin.close()


def asyncpg_dsn(url: str) -> str:
    """The plain libpq-style DSN of a SQLAlchemy asyncpg URL (for LISTEN connections)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
