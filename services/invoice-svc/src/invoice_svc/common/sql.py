"""Dialect-portable statements (PostgreSQL in production, SQLite in embedded mode)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name


def upsert_insert(session: AsyncSession, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on both dialects."""
    return (pg_insert if dialect_of(session) == "postgresql" else sqlite_insert)(table)
