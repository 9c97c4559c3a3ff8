"""Recording new consumption records in bulk: the ledger consumer's write path.

A batch of events costs a fixed number of statements whatever its size: the ledger rows (one
upsert adding each account's sum), the records (one INSERT, duplicates skipped, which on
PostgreSQL also links earlier refunds to the new purchases), and, when the batch has refunds,
one UPDATE linking them to their purchases. On PostgreSQL every statement takes its rows as arrays
(`unnest(CAST(:uins AS varchar[]), ...)`), so there is no per-row SQL building, parameter
processing or round trip; elsewhere (SQLite, embedded mode) the same steps run as SQLAlchemy
executemany.

Exactly once and order-insensitive, as one event at a time was: a record that is already there
(same uin, kind and source id, also earlier in the same batch) is skipped and changes nothing;
a refund shows its purchase's instance and order whichever of the two arrives first.

Lock order: the batch's ledger rows are upserted first, in sorted uin order, with the sums of
the records about to be inserted; records that turn out to be there already are taken back
from those (already locked) rows afterwards. So the consumer, like an application or a release
(which take `lock_ledger` first), holds an account's ledger row before it touches anything
else of that account - its records, or the monthly buckets triggers keep (`ledger.buckets`) -
and cannot deadlock with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from kit.ids import uuid7
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.common.sql import dialect_of, upsert_insert
from invoice_svc.ledger.models import account_ledgers, consumption_records
from invoice_svc.ledger.records import NewRecord

r = consumption_records
L = account_ledgers

_FIELDS = tuple(f.name for f in fields(NewRecord))
#: Sent per record besides its NewRecord fields (balance_fen and created_at are derived).
_SENT = (*_FIELDS, "record_id", "event_id")


async def add_records(session: AsyncSession, items: Sequence[tuple[NewRecord, str]], *,
                      now: datetime) -> list[str]:
    """Insert records, each with the id of the event that made it; add the inserted ones to
    their accounts' ledger rows and link refunds; return the ids of the records inserted."""
    if not items:
        return []
    postgres = dialect_of(session) == "postgresql"
    expected: dict[str, int] = {}
    for record, _ in items:
        if record.counts:
            expected[record.uin] = expected.get(record.uin, 0) + record.cash_fen
    await _add_to_ledgers(session, expected, now, postgres)
    items = _link_within(items)
    ids = [str(uuid7()) for _ in items]
    if postgres:
        done = await _insert_pg(session, items, ids, now)
    else:
        done = await _insert_generic(session, items, ids, now)
    skipped: dict[str, int] = {}
    inserted: list[tuple[str, NewRecord]] = []
    for record_id, (record, _) in zip(ids, items, strict=True):
        if record_id in done:
            inserted.append((record_id, record))
        elif record.counts:
            skipped[record.uin] = skipped.get(record.uin, 0) - record.cash_fen
    await _add_to_ledgers(session, {u: d for u, d in skipped.items() if d}, now, postgres)
    if inserted:
        await _link_refunds(session, inserted, postgres)
    return [record_id for record_id, _ in inserted]


def _link_within(items: Sequence[tuple[NewRecord, str]]) -> Sequence[tuple[NewRecord, str]]:
    """Refunds whose purchase is in the same batch take its instance and order now."""
    paid = {(record.uin, record.sub_order_id): record for record, _ in items
            if record.kind == "purchase"}
    if not paid:
        return items
    linked = []
    for record, event_id in items:
        purchase = paid.get((record.uin, record.related_sub_order_id))
        if record.kind == "refund" and record.instance_id is None and purchase is not None:
            record = replace(record, instance_id=purchase.instance_id,
                             order_id=record.order_id or purchase.order_id)
        linked.append((record, event_id))
    return linked


async def _add_to_ledgers(session: AsyncSession, deltas: dict[str, int], now: datetime,
                          postgres: bool) -> None:
    """Add to each account's records balance (creating its ledger row, locking it even when
    the delta is 0), in sorted uin order."""
    uins = sorted(deltas)
    if not uins:
        return
    if postgres:
        await session.execute(_PG_LEDGERS, {
            "uins": uins, "deltas": [deltas[u] for u in uins], "now": now})
    else:
        await session.execute(_generic_ledgers(session), [
            {"uin": u, "legacy_fen": 0, "records_balance_fen": deltas[u], "version": 1,
             "updated_at": now} for u in uins])


# ----------------------------------------------------------------------------- PostgreSQL

def _pg_type(column: Any) -> str:
    kind = column.type
    if isinstance(kind, BigInteger):
        return "bigint"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, String):
        return "varchar"
    raise TypeError(f"no array type for {column}")  # pragma: no cover - a new column type


#: The records, duplicates skipped; and, in the same statement, the refunds that came before
#: their purchase get its instance and order (refunds of a purchase in the same batch are
#: linked before the insert: a statement does not see its own rows).
_PG_INSERT = text(
    f"WITH ins AS (INSERT INTO {r.name} ({', '.join(_SENT)}, balance_fen, created_at) "
    "SELECT n.*, n.cash_fen, :created_at FROM unnest("
    + ", ".join(f"CAST(:{name} AS {_pg_type(r.c[name])}[])" for name in _SENT)
    + f") AS n({', '.join(_SENT)}) "
    "ON CONFLICT (uin, kind, source_id) DO NOTHING "
    "RETURNING record_id, uin, kind, sub_order_id, instance_id, order_id), "
    f"linked AS (UPDATE {r.name} AS c SET instance_id = ins.instance_id, "
    "order_id = coalesce(c.order_id, ins.order_id) FROM ins "
    "WHERE ins.kind = 'purchase' AND c.uin = ins.uin AND c.kind = 'refund' "
    "AND c.related_sub_order_id = ins.sub_order_id AND c.instance_id IS NULL RETURNING 1) "
    "SELECT record_id FROM ins")

_PG_LEDGERS = text(
    f"INSERT INTO {L.name} (uin, legacy_fen, records_balance_fen, version, updated_at) "
    "SELECT u, 0, d, 1, :now "
    "FROM unnest(CAST(:uins AS varchar[]), CAST(:deltas AS bigint[])) AS t(u, d) "
    "ON CONFLICT (uin) DO UPDATE SET "
    f"records_balance_fen = {L.name}.records_balance_fen + excluded.records_balance_fen, "
    f"version = {L.name}.version + 1, updated_at = excluded.updated_at")

#: New refunds without an instance: take their purchase's instance and order, if it is there.
_PG_LINK_REFUNDS = text(
    f"UPDATE {r.name} AS c SET instance_id = p.instance_id, "
    "order_id = coalesce(c.order_id, p.order_id) "
    "FROM unnest(CAST(:ids AS varchar[]), CAST(:uins AS varchar[]), "
    "CAST(:subs AS varchar[])) AS n(id, uin, sub) "
    f"JOIN {r.name} AS p ON p.uin = n.uin AND p.kind = 'purchase' AND p.source_id = n.sub "
    "WHERE c.record_id = n.id")

async def _insert_pg(session: AsyncSession, items: Sequence[tuple[NewRecord, str]],
                     ids: list[str], now: datetime) -> set[str]:
    params: dict[str, Any] = {
        name: [getattr(record, name) for record, _ in items] for name in _FIELDS}
    params.update(record_id=ids, event_id=[event_id for _, event_id in items], created_at=now)
    return set((await session.execute(_PG_INSERT, params)).scalars())


# ----------------------------------------------------------------------------- other dialects

_GENERIC: dict[tuple[str, str], Any] = {}


def _generic_insert(session: AsyncSession) -> Any:
    key = (dialect_of(session), "insert")
    if key not in _GENERIC:
        _GENERIC[key] = (upsert_insert(session, r)
                         .on_conflict_do_nothing(index_elements=[r.c.uin, r.c.kind,
                                                                 r.c.source_id])
                         .returning(r.c.record_id))
    return _GENERIC[key]


def _generic_ledgers(session: AsyncSession) -> Any:
    key = (dialect_of(session), "ledgers")
    if key not in _GENERIC:
        stmt = upsert_insert(session, L)
        _GENERIC[key] = stmt.on_conflict_do_update(index_elements=[L.c.uin], set_={
            "records_balance_fen": L.c.records_balance_fen + stmt.excluded.records_balance_fen,
            "version": L.c.version + 1, "updated_at": stmt.excluded.updated_at})
    return _GENERIC[key]


_SET_LINK = (update(r).where(r.c.record_id == bindparam("rid"))
             .values(instance_id=bindparam("iid"),
                     order_id=func.coalesce(r.c.order_id, bindparam("oid"))))


async def _insert_generic(session: AsyncSession, items: Sequence[tuple[NewRecord, str]],
                          ids: list[str], now: datetime) -> set[str]:
    rows = []
    for (record, event_id), record_id in zip(items, ids, strict=True):
        values = {name: getattr(record, name) for name in _FIELDS}
        values.update(record_id=record_id, balance_fen=record.cash_fen, event_id=event_id,
                      created_at=now)
        rows.append(values)
    # executemany: multi-row INSERTs ("insertmanyvalues"); only the inserted rows come back.
    return set((await session.execute(_generic_insert(session), rows)).scalars())


# ----------------------------------------------------------------------------- refund links

async def _link_refunds(session: AsyncSession, inserted: Sequence[tuple[str, NewRecord]],
                        postgres: bool) -> None:
    """Refund events carry no instance or order id; show those of the refunded sub-order,
    whichever of the two arrives first (display only, balances never depend on it)."""
    refunds = [(rid, rec) for rid, rec in inserted
               if rec.kind == "refund" and rec.instance_id is None]
    purchases = [rec for _, rec in inserted if rec.kind == "purchase"]
    if postgres:  # new purchases were linked by the insert itself
        if refunds:
            await session.execute(_PG_LINK_REFUNDS, {
                "ids": [rid for rid, _ in refunds], "uins": [rec.uin for _, rec in refunds],
                "subs": [rec.related_sub_order_id for _, rec in refunds]})
        return
    links: dict[str, tuple[str | None, str | None]] = {}
    if refunds:
        found = {(p.uin, p.source_id): (p.instance_id, p.order_id) for p in (await session.execute(
            select(r.c.uin, r.c.source_id, r.c.instance_id, r.c.order_id).where(
                r.c.kind == "purchase", r.c.uin.in_(sorted({rec.uin for _, rec in refunds})),
                r.c.source_id.in_(sorted({rec.related_sub_order_id for _, rec in refunds})))
        )).all()}
        for rid, rec in refunds:
            paid = found.get((rec.uin, rec.related_sub_order_id))
            if paid is not None:
                links[rid] = paid
    if purchases:
        paid_by = {(rec.uin, rec.sub_order_id): (rec.instance_id, rec.order_id)
                   for rec in purchases}
        for refund in (await session.execute(
                select(r.c.record_id, r.c.uin, r.c.related_sub_order_id).where(
                    r.c.kind == "refund", r.c.instance_id.is_(None),
                    r.c.uin.in_(sorted({rec.uin for rec in purchases})),
                    r.c.related_sub_order_id.in_(sorted({rec.sub_order_id for rec in purchases})))
        )).all():
            paid = paid_by.get((refund.uin, refund.related_sub_order_id))
            if paid is not None:
                links[refund.record_id] = paid
    if links:
        await session.execute(_SET_LINK, [
            {"rid": rid, "iid": links[rid][0], "oid": links[rid][1]} for rid in sorted(links)])
