"""Monthly balance buckets: what lets a proposal by amount skip to the month it ends in.

`consumption_balance_buckets` holds, per account, UTC month of `occurred_at` and tax rate, the
sum of the provider's record balances (not marketplace, not out of scope), the sum of their
positive balances and the number of records with a non-zero balance. PostgreSQL triggers keep
it exact: every INSERT, UPDATE or DELETE on `consumption_records` adds its net change, in the
same statement, whoever makes it (the ledger consumer, reservations, releases). A month is a
contiguous range of the newest-first order the proposals walk, so a proposal reads ~one row per
month and rate, finds the first month in which the running sum can reach what is asked (see
`invoice_svc.matching.scan_start`), and scans records from there only.

The schema is migration invoice_0006's: the table on every dialect (SQLite never fills or
reads it), the trigger function, triggers and backfill on PostgreSQL. Where the table is
missing, on SQLite, or if the buckets do not add up to the ledger row (`usable`), proposals
scan the records from the newest one, with the same result, in time linear in the records
drawn.

Lock order: the trigger locks bucket rows of the accounts whose records a statement changes.
Everyone who changes balances holds that account's ledger row first (`lock_ledger`, and the
ledger consumer locks its batch's ledger rows before inserting records), so bucket rows are
only ever taken under the ledger lock and two writers cannot deadlock on them.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.common.sql import dialect_of
from invoice_svc.matching import MonthBucket

TABLE = "consumption_balance_buckets"

#: Engines known to have the table (looked up until found, then remembered).
_PRESENT: weakref.WeakSet[Any] = weakref.WeakSet()

_READ = text(f"SELECT bucket, tax_rate, balance_fen, positive_fen, records FROM {TABLE} "
             "WHERE uin = :uin ORDER BY bucket DESC, tax_rate")


async def available(session: AsyncSession) -> bool:
    """Whether this database keeps buckets (PostgreSQL with the migration applied)."""
    if dialect_of(session) != "postgresql":
        return False
    engine = session.bind
    if engine in _PRESENT:
        return True
    found = (await session.execute(text("SELECT to_regclass(:name) IS NOT NULL"),
                                   {"name": TABLE})).scalar_one()
    if found:
        _PRESENT.add(engine)
    return bool(found)


async def read(session: AsyncSession, uin: str) -> list[MonthBucket]:
    """The account's buckets, newest month first (one per month and tax rate)."""
    return [MonthBucket(row.bucket, row.tax_rate, int(row.balance_fen), int(row.positive_fen),
                        int(row.records))
            for row in (await session.execute(_READ, {"uin": uin})).all()]


def usable(buckets: Sequence[MonthBucket], records_balance_fen: int) -> bool:
    """The buckets add up to the ledger row's records balance (both read in one snapshot):
    anything else means they cannot be trusted, and the proposal scans from the newest record."""
    return sum(b.balance_fen for b in buckets) == records_balance_fen
