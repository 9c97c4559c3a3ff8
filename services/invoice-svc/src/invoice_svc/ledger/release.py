"""Giving reserved money back to the invoiceable balances (the reverse of
`ledger.service.reserve`): when an invoice fails, when an application is revoked before it is
issued, and when a return's red invoice exists (reference/einvoice.md §4.2).

Every release is driven by `application_allocations` rows of one invoice, so it gives back
exactly what was taken for that invoice, to the same records, at most once: the caller moves
the invoice out of its status with a guarded UPDATE in the same transaction, and only the
transaction that made that move releases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.applications.models import application_allocations as A
from invoice_svc.ledger.models import account_ledgers as L
from invoice_svc.ledger.models import consumption_records as R
from invoice_svc.ledger.service import lock_ledger


async def release_invoice(session: AsyncSession, uin: str, invoice_id: str,
                          now: datetime) -> int:
    """Add the invoice's allocations back to the record balances and the ledger counters;
    returns the amount released (fen). Takes the account's ledger lock first, as `reserve`
    does, so concurrent applications see either all of it or none."""
    return await _release(session, uin, A.c.invoice_id == invoice_id, now)


async def release_unassigned(session: AsyncSession, uin: str, application_id: str,
                             now: datetime) -> int:
    """The allocations of an application that belong to no invoice (a tax rate whose money
    netted to zero: its records were drawn, nothing was issued for them). Released when the
    application ends with nothing issued, so those records can be drawn again."""
    return await _release(session, uin, (A.c.application_id == application_id)
                          & A.c.invoice_id.is_(None), now)


async def _release(session: AsyncSession, uin: str, which: Any, now: datetime) -> int:
    await lock_ledger(session, uin, now)
    rows = (await session.execute(select(A.c.record_id, A.c.amount_fen).where(which))).all()
    legacy = sum(row.amount_fen for row in rows if row.record_id is None)
    records = sorted((row.record_id, row.amount_fen) for row in rows
                     if row.record_id is not None and row.amount_fen)
    if records:
        stmt = (update(R).where(R.c.record_id == bindparam("rid"))
                .values(balance_fen=R.c.balance_fen + bindparam("amt")))
        await session.execute(stmt, [{"rid": rid, "amt": amount} for rid, amount in records])
    records_fen = sum(amount for _, amount in records)
    await session.execute(update(L).where(L.c.uin == uin).values(
        legacy_fen=L.c.legacy_fen + legacy,
        records_balance_fen=L.c.records_balance_fen + records_fen, updated_at=now))
    return legacy + records_fen
