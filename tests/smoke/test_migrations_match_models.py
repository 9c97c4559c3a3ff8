"""Each service's Alembic migrations build exactly the schema its SQLAlchemy tables describe
(columns, types, nullability, indexes), on PostgreSQL and on SQLite: a table or index added
to the models without a migration, or the other way round, fails here."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from kit.migrations import upgrade_to_head_async
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

SERVICES = ("iam", "invoice", "contract", "esign")


def metadata_of(service: str) -> MetaData:
    main = importlib.import_module(f"{service}_svc.main")
    try:
        return importlib.import_module(f"{service}_svc.models").metadata
    except ModuleNotFoundError:
        return main.metadata


async def differences(url: str, service: str) -> list[object]:
    main = importlib.import_module(f"{service}_svc.main")
    await upgrade_to_head_async(main.MIGRATIONS_DIR, url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            def compare(sync_conn):  # type: ignore[no-untyped-def]
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return [d for d in compare_metadata(context, metadata_of(service))
                        if not (isinstance(d, tuple) and d[0] == "remove_table"
                                and d[1].name == "alembic_version")]
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_build_the_models_schema_on_postgresql(service: str,
                                                                 create_pg_database) -> None:
    url = await create_pg_database(f"schema_{service}")
    assert await differences(url, service) == []


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_build_the_models_schema_on_sqlite(service: str, sqlite_url) -> None:
    assert await differences(sqlite_url(f"schema_{service}"), service) == []
