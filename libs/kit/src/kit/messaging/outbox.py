"""Writing events: rows in the outbox, inside the caller's business transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.messaging.envelope import CloudEvent

OUTBOX_DIRTY = "outbox_dirty"


async def add_events(session: AsyncSession, outbox: Table, events: Iterable[CloudEvent]) -> None:
    """Stage events for publication. They are published only if the transaction commits."""
    now = datetime.now(UTC)
    rows = [
        {"event_id": e.id, "routing_key": e.routing_key, "body": e.to_json().decode(),
         "created_at": now, "next_attempt_at": now, "attempts": 0}
        for e in events
    ]
    if not rows:
        return
    await session.execute(insert(outbox), rows)
    session.info[OUTBOX_DIRTY] = True
