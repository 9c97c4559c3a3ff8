"""The outbox and inbox tables every service has, and the migration steps that create them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text

BigIntPK = BigInteger().with_variant(Integer, "sqlite")


def messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Declare `outbox` and `inbox` on a service's metadata (used at run time and by Alembic)."""
    outbox = Table(
        "outbox", metadata,
        Column("seq", BigIntPK, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("routing_key", String(200), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("last_error", Text),
        Index("ix_outbox_pending", "seq", sqlite_where=sa.text("published_at IS NULL"),
              postgresql_where=sa.text("published_at IS NULL")),
    )
    inbox = Table(
        "inbox", metadata,
        Column("consumer", String(200), primary_key=True),
        Column("message_id", String(64), primary_key=True),
        Column("received_at", DateTime(timezone=True), nullable=False),
    )
    return outbox, inbox


_NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
_NOTIFY_TRIGGER = """
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()
"""


def create_messaging_schema(op: Any) -> None:
    """Migration step: the outbox, the inbox, and on PostgreSQL the NOTIFY trigger that wakes
    relays in every replica when a transaction that wrote outbox rows commits."""
    from kit.db import new_metadata  # the services' naming convention, so names match

    metadata = new_metadata()
    messaging_tables(metadata)
    bind = op.get_bind()
    metadata.create_all(bind)
    if bind.dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)
        op.execute(_NOTIFY_TRIGGER)


def drop_messaging_schema(op: Any) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
    op.drop_table("inbox")
    op.drop_table("outbox")
