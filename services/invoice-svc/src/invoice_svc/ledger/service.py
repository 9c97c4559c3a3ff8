"""The ledger's reads and writes: recording events, the account row, queries, reservations.

Locking (DESIGN.md §3): every change of a record's balance happens while the account's
`account_ledgers` row is locked (`lock_ledger`), and record rows are updated in sorted id
order. Event handlers only insert records and add to the ledger row with an atomic increment,
so they never wait on a record lock. On SQLite (embedded mode) there are no row locks: the
first statement of `lock_ledger` is a write, which takes SQLite's database write lock for the
rest of the transaction, so writers serialise there too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kit.clock import iso, utc
from kit.errors import FailedOperation
from kit.money import format_yuan
from sqlalchemy import (
    DateTime,
    Row,
    String,
    and_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from invoice_svc.common.cursor import cursor_instant, cursor_text, decode_cursor, encode_cursor
from invoice_svc.common.sql import upsert_insert
from invoice_svc.common.times import month_start
from invoice_svc.ledger.ingest import add_records
from invoice_svc.ledger.models import account_ledgers, consumption_records
from invoice_svc.ledger.records import NewRecord
from invoice_svc.matching import (
    CandidateRecord,
    MonthBucket,
    ScanStart,
    insufficient,
    legacy_part,
    scan_start,
)

r = consumption_records
L = account_ledgers

#: The provider's own records: everything a balance, list or application here may touch.
PROVIDER = and_(r.c.marketplace == false(), r.c.out_of_scope.is_(None))


# ----------------------------------------------------------------------------- the ledger row

@dataclass(frozen=True, slots=True)
class LedgerState:
    uin: str
    legacy_fen: int = 0
    records_balance_fen: int = 0

    @property
    def total_fen(self) -> int:
        """The net invoiceable amount (可开票金额): legacy remaining + all record balances."""
        return self.legacy_fen + self.records_balance_fen


async def read_ledger(session: AsyncSession, uin: str) -> LedgerState:
    row = (await session.execute(
        select(L.c.legacy_fen, L.c.records_balance_fen).where(L.c.uin == uin))).first()
    if row is None:
        return LedgerState(uin)
    return LedgerState(uin, row.legacy_fen, row.records_balance_fen)


async def lock_ledger(session: AsyncSession, uin: str, now: datetime) -> LedgerState:
    """Lock the account's ledger row (creating it if needed) for the rest of the transaction,
    and read it.

    One statement, `INSERT ... ON CONFLICT (uin) DO UPDATE ... RETURNING`: on PostgreSQL the
    conflicting row is locked as by `SELECT ... FOR UPDATE` (a row lock held to commit, which
    every other application and every event handler's increment on this account waits for);
    on SQLite it is the transaction's first write, which takes the database write lock. The
    values returned are read after the lock was granted, so they are current."""
    stmt = upsert_insert(session, L).values(
        uin=uin, legacy_fen=0, records_balance_fen=0, version=0, updated_at=now)
    row = (await session.execute(stmt.on_conflict_do_update(
        index_elements=[L.c.uin], set_={"version": L.c.version + 1})
        .returning(L.c.legacy_fen, L.c.records_balance_fen))).one()
    return LedgerState(uin, row.legacy_fen, row.records_balance_fen)


class LegacyAmountChanged(FailedOperation):
    code = "FailedOperation.LegacyAmountChanged"


async def set_legacy(session: AsyncSession, uin: str, legacy_fen: int, now: datetime, *,
                     expected_fen: int | None = None) -> LedgerState:
    """Replace the legacy remaining amount under the ledger lock (applications drawing on it
    wait, or are waited for). With `expected_fen`, only if it is still what the operator saw
    (compare-and-set): an application that drew on it meanwhile is not undone."""
    state = await lock_ledger(session, uin, now)
    if expected_fen is not None and state.legacy_fen != expected_fen:
        raise LegacyAmountChanged(
            "旧版剩余可开票金额已变化（期间有开票申请或其他修改），请刷新后重试"
            " (the legacy amount changed meanwhile; reload and retry)",
            details={"legacy_amount": format_yuan(state.legacy_fen)})
    await session.execute(update(L).where(L.c.uin == uin).values(
        legacy_fen=legacy_fen, updated_at=now))
    return await read_ledger(session, uin)


# ----------------------------------------------------------------------------- recording events

async def add_record(session: AsyncSession, record: NewRecord, *, event_id: str,
                     now: datetime) -> bool:
    """Insert one record; False (and nothing changed) when it is already there. Batches go
    through `ingest.add_records` (what the ledger consumer does)."""
    return bool(await add_records(session, [(record, event_id)], now=now))


# ----------------------------------------------------------------------------- reading records

@dataclass(frozen=True, slots=True)
class RecordFilter:
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    sub_order_id: str | None = None
    product: str | None = None  # product code or name, exact
    invoiceable_only: bool = False


def _where(uin: str, flt: RecordFilter) -> list[Any]:
    where: list[Any] = [r.c.uin == uin, PROVIDER]
    if flt.start is not None:
        where.append(r.c.occurred_at >= flt.start)
    if flt.end is not None:
        where.append(r.c.occurred_at < flt.end)
    if flt.sub_order_id is not None:
        where.append(or_(r.c.sub_order_id == flt.sub_order_id,
                         r.c.related_sub_order_id == flt.sub_order_id))
    if flt.product is not None:
        where.append(or_(r.c.product_code == flt.product, r.c.product_name == flt.product))
    if flt.invoiceable_only:
        where.append(r.c.balance_fen != 0)
    return where


def _before(occurred_at: datetime, record_id: str) -> Any:
    """Keyset: strictly after (occurred_at, record_id) in newest-first order."""
    return tuple_(r.c.occurred_at, r.c.record_id) < tuple_(
        literal(occurred_at, DateTime(timezone=True)), literal(record_id, String()))


async def list_records(session: AsyncSession, uin: str, flt: RecordFilter, *, limit: int,
                       cursor: str | None = None, offset: int = 0,
                       ) -> tuple[Sequence[Row[Any]], str | None, int]:
    """A page of records newest first, the cursor of the next page, and the filtered count."""
    where = _where(uin, flt)
    total = (await session.execute(select(func.count()).select_from(r).where(*where))).scalar_one()
    stmt = select(r).where(*where)
    if cursor is not None:
        at, record_id = decode_cursor(cursor, 2)
        stmt = stmt.where(_before(cursor_instant(at), cursor_text(record_id)))
    elif offset:
        stmt = stmt.offset(offset)
    rows = (await session.execute(
        stmt.order_by(r.c.occurred_at.desc(), r.c.record_id.desc()).limit(limit + 1))).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(iso(last.occurred_at), last.record_id)
    return rows, next_cursor, total


async def records_by_ids(session: AsyncSession, uin: str, record_ids: Sequence[str], *,
                         lock: bool) -> dict[str, Row[Any]]:
    """The caller's records among `record_ids` (others' records are simply absent), locked in
    sorted id order when `lock`."""
    found: dict[str, Row[Any]] = {}
    ordered = sorted(set(record_ids))
    for start in range(0, len(ordered), 1000):
        stmt = (select(r).where(r.c.uin == uin, r.c.record_id.in_(ordered[start:start + 1000]))
                .order_by(r.c.record_id))
        if lock:
            stmt = stmt.with_for_update()
        for row in (await session.execute(stmt)).all():
            found[row.record_id] = row
    return found


#: What a proposal needs of each candidate to price and show it, besides the balance.
CANDIDATE_COLUMNS = (r.c.record_id, r.c.occurred_at, r.c.balance_fen, r.c.tax_rate,
                     r.c.product_name, r.c.kind, r.c.order_type, r.c.sub_order_id, r.c.period,
                     r.c.source_id)


def iter_candidates(session: Session, uin: str, *, rows_out: dict[str, Row[Any]] | None = None,
                    first_chunk: int = 128, max_chunk: int = 4096) -> Iterator[CandidateRecord]:
    """The account's records with a non-zero balance, newest first, read lazily in growing
    keyset chunks from `ix_consumption_records_candidates` (run inside `run_sync`), so a
    proposal reads only as many rows as it needs. Rows read are kept in `rows_out`, so the
    chosen ones need no second query."""
    base = (select(*CANDIDATE_COLUMNS)
            .where(r.c.uin == uin, PROVIDER, r.c.balance_fen != 0)
            .order_by(r.c.occurred_at.desc(), r.c.record_id.desc()))
    after: tuple[datetime, str] | None = None
    size = first_chunk
    rates: dict[str, Decimal] = {}
    while True:
        stmt = base if after is None else base.where(_before(*after))
        rows = session.execute(stmt.limit(size)).all()
        if rows_out is not None:
            rows_out.update((row.record_id, row) for row in rows)
        for row in rows:
            rate = rates.get(row.tax_rate)
            if rate is None:
                rate = rates[row.tax_rate] = Decimal(row.tax_rate)
            yield CandidateRecord(row.record_id, utc(row.occurred_at), row.balance_fen, rate)
        if len(rows) < size:
            return
        after = (rows[-1].occurred_at, rows[-1].record_id)
        size = min(size * 2, max_chunk)


# ----------------------------------------------------------------------------- matching by amount

@dataclass(frozen=True, slots=True)
class Cover:
    """The record at which a proposal's running sum reaches the amount (the oldest one drawn,
    the only one that can be drawn in part)."""

    occurred_at: datetime
    record_id: str
    balance_fen: int
    tax_rate: str
    running_fen: int  # the balances of every record from the newest through this one


@dataclass(frozen=True, slots=True)
class RecordMatch:
    """A proposal by amount over records (INV-REQ-13c) without its lines: the legacy part,
    the cover, and per tax rate how many records are drawn and how much."""

    legacy_fen: int
    records_fen: int  # drawn from records: the total less the legacy part
    cover: Cover | None  # None when the legacy amount covers everything
    by_rate: dict[str, tuple[int, int]]  # tax rate -> (records, amount drawn), by rate

    @property
    def line_count(self) -> int:
        return sum(count for count, _ in self.by_rate.values())

    @property
    def cover_amount_fen(self) -> int:
        """What is drawn from the cover: its balance less what the running sum overshoots."""
        if self.cover is None:
            return 0
        return self.cover.balance_fen - (self.cover.running_fen - self.records_fen)


def _newest_first() -> tuple[Any, Any]:
    return r.c.occurred_at.desc(), r.c.record_id.desc()


def _not_before(cover: Cover) -> Any:
    """Newest-first order: this record and every one before it."""
    return tuple_(r.c.occurred_at, r.c.record_id) >= tuple_(
        literal(cover.occurred_at, DateTime(timezone=True)), literal(cover.record_id, String()))


def _invoiceable(uin: str, start: ScanStart) -> list[Any]:
    where = [r.c.uin == uin, PROVIDER, r.c.balance_fen != 0]
    if start.before is not None:
        where.append(r.c.occurred_at < start.before)
    return where


async def find_cover(session: AsyncSession, uin: str, remaining_fen: int,
                     start: ScanStart = ScanStart()) -> Cover | None:
    """The first record, newest first from `start`, at which the running sum of balances
    reaches `remaining_fen`: one window-function scan that stops there (LIMIT 1), reading
    `ix_consumption_records_candidates` (or the partial `..._invoiceable` index) in order."""
    running = func.sum(r.c.balance_fen).over(order_by=_newest_first(), rows=(None, 0))
    inner = (select(r.c.occurred_at, r.c.record_id, r.c.balance_fen, r.c.tax_rate,
                    running.label("running"))
             .where(*_invoiceable(uin, start)).subquery())
    row = (await session.execute(
        select(inner).where(inner.c.running >= remaining_fen - start.offset_fen)
        .order_by(inner.c.occurred_at.desc(), inner.c.record_id.desc()).limit(1))).first()
    if row is None:
        return None
    return Cover(utc(row.occurred_at), row.record_id, int(row.balance_fen), row.tax_rate,
                 start.offset_fen + int(row.running))


async def match_records(session: AsyncSession, state: LedgerState, total_fen: int, *,
                        buckets: Sequence[MonthBucket] = ()) -> RecordMatch:
    """INV-REQ-13c on the database: legacy first, then records newest to oldest up to the
    cover, as `matching.propose_by_amount` does (same result), without reading the records
    it takes one by one. With the account's monthly `buckets` the scan starts in the month
    that holds the cover; per-rate sums come from the skipped months' buckets plus one
    aggregate over the scanned part. Raises AllocationError when the money does not reach."""
    legacy = legacy_part(total_fen, state.legacy_fen, state.total_fen)
    remaining = total_fen - legacy
    if remaining == 0:
        return RecordMatch(legacy, 0, None, {})
    start = scan_start(remaining, buckets)
    cover = await find_cover(session, state.uin, remaining, start)
    if cover is None:
        reached = (await session.execute(select(func.coalesce(func.sum(r.c.balance_fen), 0))
                                         .where(r.c.uin == state.uin, PROVIDER))).scalar_one()
        raise insufficient(total_fen, legacy + int(reached))
    by_rate: dict[str, tuple[int, int]] = {}
    for bucket in start.skipped:
        count, amount = by_rate.get(bucket.tax_rate, (0, 0))
        by_rate[bucket.tax_rate] = (count + bucket.records, amount + bucket.balance_fen)
    for rate, count, amount in (await session.execute(
            select(r.c.tax_rate, func.count(), func.sum(r.c.balance_fen))
            .where(*_invoiceable(state.uin, start), _not_before(cover))
            .group_by(r.c.tax_rate))).all():
        before_count, before_amount = by_rate.get(rate, (0, 0))
        by_rate[rate] = (before_count + count, before_amount + int(amount))
    # The cover is drawn only as far as needed.
    count, amount = by_rate[cover.tax_rate]
    by_rate[cover.tax_rate] = (count, amount - (cover.running_fen - remaining))
    return RecordMatch(legacy, remaining, cover, {
        rate: by_rate[rate] for rate in sorted(by_rate) if by_rate[rate] != (0, 0)})


async def matched_lines(session: AsyncSession, uin: str, match: RecordMatch, *,
                        limit: int) -> list[Row[Any]]:
    """The first `limit` records a match draws on, newest first (each drawn in full, but the
    cover: `match.cover_amount_fen`)."""
    if match.cover is None:
        return []
    return list((await session.execute(
        select(*CANDIDATE_COLUMNS)
        .where(r.c.uin == uin, PROVIDER, r.c.balance_fen != 0, _not_before(match.cover))
        .order_by(*_newest_first()).limit(limit))).all())


# ----------------------------------------------------------------------------- monthly bills

async def bill_balances(session: AsyncSession, uin: str,
                        months: Sequence[str] | None = None) -> list[Row[Any]]:
    """(bill_month, cash_fen, balance_fen, record_count) per month, newest first."""
    stmt = (select(r.c.bill_month, func.sum(r.c.cash_fen).label("cash_fen"),
                   func.sum(r.c.balance_fen).label("balance_fen"),
                   func.count().label("record_count"))
            .where(r.c.uin == uin, PROVIDER)
            .group_by(r.c.bill_month).order_by(r.c.bill_month.desc()))
    if months is not None:
        stmt = stmt.where(r.c.bill_month.in_(list(months)))
    return list((await session.execute(stmt)).all())


def bill_candidates(rows: Sequence[Row[Any]]) -> list[CandidateRecord]:
    """Monthly bills as matching candidates, newest first (the same rule as records)."""
    return [CandidateRecord(row.bill_month, month_start(row.bill_month), int(row.balance_fen),
                            Decimal(0)) for row in rows]


async def month_records(session: AsyncSession, uin: str, months: Sequence[str], *,
                        lock: bool) -> list[Row[Any]]:
    """The records with a non-zero balance in the given months, newest first."""
    stmt = (select(r).where(r.c.uin == uin, PROVIDER, r.c.bill_month.in_(list(months)),
                            r.c.balance_fen != 0)
            .order_by(r.c.occurred_at.desc(), r.c.record_id.desc()))
    rows = list((await session.execute(stmt)).all())
    if lock and rows:
        await records_by_ids(session, uin, [row.record_id for row in rows], lock=True)
    return rows


async def monthly_bills(session: AsyncSession, uin: str, *, limit: int,
                        cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Monthly bills newest first with their per-product breakdown (INV-REQ-4)."""
    stmt = (select(r.c.bill_month, func.sum(r.c.cash_fen).label("cash_fen"),
                   func.sum(r.c.balance_fen).label("balance_fen"),
                   func.count().label("record_count"))
            .where(r.c.uin == uin, PROVIDER)
            .group_by(r.c.bill_month).order_by(r.c.bill_month.desc()).limit(limit + 1))
    if cursor is not None:
        (after,) = decode_cursor(cursor, 1)
        stmt = stmt.where(r.c.bill_month < cursor_text(after))
    rows = list((await session.execute(stmt)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].bill_month)
    months = [row.bill_month for row in rows]
    products: dict[str, list[dict[str, Any]]] = {m: [] for m in months}
    if months:
        detail = (select(r.c.bill_month, r.c.product_code, r.c.product_name,
                         func.sum(r.c.cash_fen).label("cash_fen"),
                         func.sum(r.c.balance_fen).label("balance_fen"),
                         func.count().label("record_count"))
                  .where(r.c.uin == uin, PROVIDER, r.c.bill_month.in_(months))
                  .group_by(r.c.bill_month, r.c.product_code, r.c.product_name)
                  .order_by(r.c.bill_month.desc(), r.c.product_code, r.c.product_name))
        for row in (await session.execute(detail)).all():
            products[row.bill_month].append({
                "product_code": row.product_code, "product_name": row.product_name,
                "cash_fen": int(row.cash_fen), "balance_fen": int(row.balance_fen),
                "record_count": int(row.record_count)})
    bills = [{"month": row.bill_month, "cash_fen": int(row.cash_fen),
              "balance_fen": int(row.balance_fen), "record_count": int(row.record_count),
              "products": products[row.bill_month]} for row in rows]
    return bills, next_cursor


async def balances_by_rate(session: AsyncSession, uin: str) -> list[tuple[str, int]]:
    rows = (await session.execute(
        select(r.c.tax_rate, func.sum(r.c.balance_fen))
        .where(r.c.uin == uin, PROVIDER).group_by(r.c.tax_rate).order_by(r.c.tax_rate))).all()
    return [(rate, int(total)) for rate, total in rows]


# ----------------------------------------------------------------------------- reservations

async def reserve(session: AsyncSession, ledger: LedgerState,
                  lines: Sequence[tuple[str, int]], legacy_fen: int, now: datetime) -> None:
    """Take money out of the balances (the caller holds the ledger lock and has checked every
    amount against the locked balances). Records are updated in sorted id order."""
    ordered = sorted((rid, amount) for rid, amount in lines if amount)
    if ordered:
        stmt = (update(r).where(r.c.record_id == bindparam("rid"))
                .values(balance_fen=r.c.balance_fen - bindparam("amt")))
        await session.execute(stmt, [{"rid": rid, "amt": amount} for rid, amount in ordered])
    records_fen = sum(amount for _, amount in ordered)
    await session.execute(update(L).where(L.c.uin == ledger.uin).values(
        legacy_fen=L.c.legacy_fen - legacy_fen,
        records_balance_fen=L.c.records_balance_fen - records_fen, updated_at=now))
