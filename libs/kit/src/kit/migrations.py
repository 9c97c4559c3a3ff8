"""Alembic, driven from code: each service's `migrations/env.py` calls `run_env`, and the
service CLI / embedded mode call `upgrade_to_head`. Works on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from kit.db import Database


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(migrations_dir: Path, url: str) -> None:
    """Synchronous; runs its own event loop, so call it from a thread inside async code."""
    command.upgrade(alembic_config(migrations_dir, url), "head")


async def upgrade_to_head_async(migrations_dir: Path, url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, migrations_dir, url)


def head_revisions(migrations_dir: Path) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(migrations_dir, "sqlite://"))
    return set(script.get_heads())


async def current_revisions(db: Database) -> set[str]:
    def read(conn: Connection) -> set[str]:
        return set(MigrationContext.configure(conn).get_current_heads())

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def at_head(db: Database, migrations_dir: Path) -> bool:
    try:
        return await current_revisions(db) == head_revisions(migrations_dir)
    except Exception:  # unreachable database answers "not ready", never raises from a probe
        return False


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's `migrations/env.py`."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"
    sqlite = url.startswith("sqlite")

    def configure_and_run(connection: Connection) -> None:
        context.configure(
            connection=connection, target_metadata=target_metadata,
            render_as_batch=sqlite, compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def run_online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(configure_and_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run_online())
