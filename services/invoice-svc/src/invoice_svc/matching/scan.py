"""Where a proposal by amount must start scanning records, from monthly aggregates (pure).

`propose_by_amount` walks records newest first and stops at the first record where the running
sum of balances reaches what is still missing after the legacy amount (`remaining`): that
record is the cover, taken in part or in full; every record before it is taken in full
(refunds netted in full); nothing after it is touched. So the cover is the first record at
which the running sum S_k >= remaining (S only grows at positive balances, so it is one).

With the balances summed per month (`MonthBucket`, newest month first), the months before the
one holding the cover can be skipped without reading their records: a month whose records
cannot lift the running sum to `remaining` - even taking only its positive balances, on top of
the exact sum of every newer month - cannot hold the cover. `scan_start` returns the first
month that can; the exact scan starts at that month's newest edge with the newer months' sum
as its offset and goes on (into older months if refunds kept the sum below) until it finds the
cover. The result is the same record and the same running sum as the full newest-first walk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["MonthBucket", "ScanStart", "month_after", "scan_start"]


@dataclass(frozen=True, slots=True)
class MonthBucket:
    """One account's records of one (UTC) month and tax rate: balances summed."""

    month: datetime  # first instant of the month, UTC
    tax_rate: str
    balance_fen: int  # sum of the balances (refunds negative)
    positive_fen: int  # sum of the positive balances only
    records: int  # records with a non-zero balance


@dataclass(frozen=True, slots=True)
class ScanStart:
    """Scan records older than `before` (None: from the newest one); every record newer than
    that sums to `offset_fen`, and `skipped` are those records' buckets."""

    before: datetime | None = None
    offset_fen: int = 0
    skipped: tuple[MonthBucket, ...] = ()


def month_after(month: datetime) -> datetime:
    """The first instant (UTC) of the month after `month`."""
    month = month.astimezone(UTC)
    if month.month == 12:
        return datetime(month.year + 1, 1, 1, tzinfo=UTC)
    return datetime(month.year, month.month + 1, 1, tzinfo=UTC)


def scan_start(remaining_fen: int, buckets: Iterable[MonthBucket]) -> ScanStart:
    """The newest month that can hold the cover of `remaining_fen`, given the account's buckets
    newest month first (several per month, one per tax rate, months not repeated apart).

    A month is skipped only when even its positive balances, on top of the exact sum of every
    newer month, stay below `remaining_fen`. When no month can hold it the scan starts from
    the newest record (it will find no cover and the caller refuses the amount)."""
    if remaining_fen <= 0:
        return ScanStart()
    offset = 0
    skipped: list[MonthBucket] = []
    month: list[MonthBucket] = []  # the buckets of the month being looked at
    for bucket in [*buckets, None]:
        if month and (bucket is None or bucket.month != month[0].month):
            if offset + sum(b.positive_fen for b in month) >= remaining_fen:
                return ScanStart(month_after(month[0].month), offset, tuple(skipped))
            offset += sum(b.balance_fen for b in month)
            skipped.extend(month)
            month = []
        if bucket is not None:
            older = skipped[-1].month if skipped else None
            if (month and bucket.month > month[0].month) or (
                    older is not None and bucket.month >= older):
                raise ValueError("buckets must come newest month first, a month's together")
            month.append(bucket)
    return ScanStart()
