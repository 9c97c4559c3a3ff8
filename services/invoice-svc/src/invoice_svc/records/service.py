"""Reads behind the invoice records pages: list with filters (keyset pages, newest first),
detail with progress and lines, the linked consumption records, documents."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kit.clock import iso, utc
from kit.errors import ResourceNotFound
from kit.messaging import add_events, new_event
from sqlalchemy import Row, Table, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.applications.models import application_allocations as A
from invoice_svc.applications.models import invoice_applications as APP
from invoice_svc.applications.models import invoice_lines as LINES
from invoice_svc.applications.models import invoices as INV
from invoice_svc.common.cursor import cursor_instant, cursor_text, decode_cursor, encode_cursor
from invoice_svc.common.money import yuan
from invoice_svc.issuing.events import INVOICE_REVOKED, InvoiceRevoked
from invoice_svc.issuing.models import invoice_documents as DOCS
from invoice_svc.issuing.models import invoice_progress as PROGRESS
from invoice_svc.issuing.service import (
    APPLIED,
    REVOKED,
    SOURCE,
    add_progress,
    settle_application,
)
from invoice_svc.ledger.models import consumption_records as R
from invoice_svc.ledger.records import kind_label
from invoice_svc.ledger.release import release_invoice
from invoice_svc.returns import rules
from invoice_svc.returns.rules import status_name
from invoice_svc.titles.rules import INVOICE_TYPE_NAMES


class InvoiceNotFound(ResourceNotFound):
    code = "ResourceNotFound.Invoice"


class DocumentNotFound(ResourceNotFound):
    code = "ResourceNotFound.InvoiceDocument"


MEDIUM_NAMES = {"fully_digital": "数电发票", "electronic": "电子发票", "paper": "纸质发票"}
METHOD_NAMES = {"manual": "手动开票", "auto": "自动开票"}


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    statuses: Sequence[str] = ()
    start: datetime | None = None  # created_at >= start
    end: datetime | None = None  # created_at < end
    invoice_type: str | None = None
    number: str | None = None
    method: str | None = None


_COLUMNS = (INV.c.invoice_id, INV.c.application_id, INV.c.kind, INV.c.medium, INV.c.number,
            INV.c.invoice_type, INV.c.tax_rate, INV.c.amount_fen, INV.c.net_fen, INV.c.tax_fen,
            INV.c.amount_in_capitals, INV.c.status, INV.c.created_at, INV.c.issued_at,
            INV.c.failure_code, INV.c.failure_reason, INV.c.original_invoice_id,
            INV.c.red_form_number, APP.c.method, APP.c.buyer_name, APP.c.buyer_taxpayer_id,
            APP.c.email)


def _where(uin: str, flt: InvoiceFilter) -> list[Any]:
    clauses: list[Any] = [INV.c.uin == uin]
    if flt.statuses:
        clauses.append(INV.c.status.in_(list(flt.statuses)))
    if flt.start is not None:
        clauses.append(INV.c.created_at >= flt.start)
    if flt.end is not None:
        clauses.append(INV.c.created_at < flt.end)
    if flt.invoice_type:
        clauses.append(INV.c.invoice_type == flt.invoice_type)
    if flt.number:
        clauses.append(INV.c.number == flt.number)
    if flt.method:
        clauses.append(APP.c.method == flt.method)
    return clauses


async def list_invoices(session: AsyncSession, uin: str, flt: InvoiceFilter, *, limit: int,
                        cursor: str | None) -> tuple[list[Row[Any]], str | None, int]:
    """A page of the account's invoices, newest first, and the filtered total."""
    joined = INV.join(APP, APP.c.application_id == INV.c.application_id)
    where = _where(uin, flt)
    total = (await session.execute(
        select(func.count()).select_from(joined).where(*where))).scalar_one()
    page = select(*_COLUMNS).select_from(joined).where(*where)
    if cursor:
        at, invoice_id = _position(cursor)
        page = page.where(or_(INV.c.created_at < at,
                              and_(INV.c.created_at == at, INV.c.invoice_id < invoice_id)))
    rows = list((await session.execute(
        page.order_by(INV.c.created_at.desc(), INV.c.invoice_id.desc()).limit(limit + 1))).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(utc(last.created_at).isoformat(), last.invoice_id)
    return rows, next_cursor, total


def _position(cursor: str) -> tuple[datetime, str]:
    """(created_at, invoice_id) of a cursor this API made; anything else is refused."""
    created, invoice_id = decode_cursor(cursor, 2)
    return cursor_instant(created), cursor_text(invoice_id)


async def get_invoice(session: AsyncSession, uin: str, invoice_id: str) -> Row[Any]:
    row = (await session.execute(
        select(*_COLUMNS).select_from(INV.join(APP, APP.c.application_id == INV.c.application_id))
        .where(INV.c.uin == uin, INV.c.invoice_id == invoice_id))).first()
    if row is None:
        raise InvoiceNotFound(f"invoice {invoice_id} not found",
                              details={"field": "invoice_id"})
    return row


def invoice_view(row: Row[Any]) -> dict[str, Any]:
    return {
        "invoice_id": row.invoice_id, "application_id": row.application_id,
        "created_at": iso(row.created_at), "method": row.method,
        "method_name": METHOD_NAMES.get(row.method, row.method),
        "title": row.buyer_name, "buyer_taxpayer_id": row.buyer_taxpayer_id,
        "invoice_type": row.invoice_type,
        "invoice_type_name": INVOICE_TYPE_NAMES.get(row.invoice_type, row.invoice_type),
        "medium": row.medium, "medium_name": MEDIUM_NAMES.get(row.medium, row.medium),
        "kind": row.kind, "number": row.number, "issued_at": iso(row.issued_at),
        "tax_rate": row.tax_rate, "amount": yuan(row.amount_fen),
        "net_amount": yuan(row.net_fen), "tax_amount": yuan(row.tax_fen),
        "status": row.status, "status_name": status_name(row.status),
        "failure_code": row.failure_code, "failure_reason": row.failure_reason,
        "original_invoice_id": row.original_invoice_id, "red_form_number": row.red_form_number,
        "email": row.email,
    }


async def invoice_detail(session: AsyncSession, uin: str, invoice_id: str) -> dict[str, Any]:
    row = await get_invoice(session, uin, invoice_id)
    lines = (await session.execute(select(LINES).where(LINES.c.invoice_id == invoice_id)
                                   .order_by(LINES.c.line_no))).all()
    progress = (await session.execute(
        select(PROGRESS.c.status, PROGRESS.c.note, PROGRESS.c.at)
        .where(PROGRESS.c.invoice_id == invoice_id)
        .order_by(PROGRESS.c.at, PROGRESS.c.entry_id))).all()
    formats = list((await session.execute(
        select(DOCS.c.format).where(DOCS.c.invoice_id == invoice_id)
        .order_by(DOCS.c.format))).scalars())
    linked = (await session.execute(
        select(func.count(), func.coalesce(func.sum(A.c.amount_fen), 0))
        .where(A.c.invoice_id == invoice_id, A.c.record_id.is_not(None)))).one()
    legacy = (await session.execute(
        select(func.coalesce(func.sum(A.c.amount_fen), 0))
        .where(A.c.invoice_id == invoice_id, A.c.record_id.is_(None)))).scalar_one()
    view = invoice_view(row)
    view.update(
        amount_in_capitals=row.amount_in_capitals,
        lines=[{"line_no": line.line_no, "item_name": line.item_name,
                "tax_rate": line.tax_rate, "amount": yuan(line.amount_fen),
                "net_amount": yuan(line.net_fen), "tax_amount": yuan(line.tax_fen)}
               for line in lines],
        progress=[{"status": p.status, "status_name": status_name(p.status), "note": p.note,
                   "at": iso(p.at)} for p in progress],
        documents=formats,
        linked_records={"count": linked[0], "amount": yuan(int(linked[1])),
                        "legacy_amount": yuan(int(legacy))},
    )
    return view


async def linked_records(session: AsyncSession, uin: str, invoice_id: str) -> list[Row[Any]]:
    """The consumption records an invoice draws on, with the amount drawn from each."""
    await get_invoice(session, uin, invoice_id)
    return list((await session.execute(
        select(R, A.c.amount_fen.label("drawn_fen"))
        .select_from(A.join(R, R.c.record_id == A.c.record_id))
        .where(A.c.invoice_id == invoice_id)
        .order_by(R.c.occurred_at.desc(), R.c.record_id.desc()))).all())


CSV_HEADER = ("记录ID", "类型", "子订单号/账期", "产品", "实例ID", "税率", "发生时间", "现金支付",
              "本次开票金额")


def linked_records_csv(rows: Sequence[Row[Any]]) -> bytes:
    """UTF-8 with BOM so spreadsheet programs in zh-CN open it without mojibake."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in rows:
        display = row.period if row.kind == "settlement" else (
            row.source_id if row.kind in ("transfer_out", "transfer_in") else row.sub_order_id)
        writer.writerow((row.record_id, kind_label(row.kind, row.order_type), display,
                         row.product_name, row.instance_id or "", row.tax_rate,
                         iso(row.occurred_at), yuan(row.cash_fen), yuan(row.drawn_fen)))
    return ("\ufeff" + out.getvalue()).encode()


async def document(session: AsyncSession, uin: str, invoice_id: str,
                   fmt: str) -> tuple[Row[Any], bytes]:
    row = await get_invoice(session, uin, invoice_id)
    content = (await session.execute(select(DOCS.c.content).where(
        DOCS.c.invoice_id == invoice_id, DOCS.c.format == fmt))).scalar_one_or_none()
    if content is None:
        raise DocumentNotFound(
            f"发票尚未开具或没有 {fmt.upper()} 文件 (invoice {invoice_id} has no {fmt} document;"
            f" status {row.status})", details={"field": "format"})
    return row, content


async def revoke(session: AsyncSession, outbox: Table, uin: str, invoice_id: str,
                 sub_uin: str | None, now: datetime) -> dict[str, Any]:
    """RevokeInvoice: an invoice not yet sent to the tax platform (applied) is revoked and its
    money released, in one transaction. The issuing worker moves applied invoices to issuing
    under a row lock, so exactly one of the two wins; once issuing (or later) the status
    machine refuses with its stable code."""
    row = (await session.execute(update(INV).where(
        INV.c.invoice_id == invoice_id, INV.c.uin == uin, INV.c.status == APPLIED)
        .values(status=REVOKED, updated_at=now)
        .returning(INV.c.application_id))).first()
    if row is None:
        current = await get_invoice(session, uin, invoice_id)
        rules.transition(current.status, "revoke", current.medium)  # raises the refusal
        raise AssertionError("unreachable: revoke allowed from a status it was not in")
    released = await release_invoice(session, uin, invoice_id, now)
    await add_progress(session, invoice_id, REVOKED, "开票申请已撤销", now)
    await settle_application(session, row.application_id, now)
    data = InvoiceRevoked(invoice_id=invoice_id, application_id=row.application_id, uin=uin,
                          revoked_by_sub_uin=sub_uin,
                          released_amount=yuan(released)).model_dump(mode="json")
    await add_events(session, outbox, [new_event(INVOICE_REVOKED, source=SOURCE, subject=uin,
                                                 data=data, time=now)])
    return invoice_view(await get_invoice(session, uin, invoice_id)) | {
        "released_amount": yuan(released)}
