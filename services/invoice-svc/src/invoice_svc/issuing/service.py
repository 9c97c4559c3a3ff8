"""The issuing worker's database side: claim due invoices, turn one into a platform request,
and record what the platform said.

Safe with several replicas: a claim is a lease (`lease_until`) taken by one UPDATE over rows
picked with `FOR UPDATE SKIP LOCKED`, so two workers never hold the same invoice at once; a
crashed worker's lease simply expires. Every outcome is recorded with an UPDATE guarded by
`status = 'issuing'`, so an outcome is applied once even if two workers raced after a lease
expired. The platform is idempotent by order number (our invoice id), so asking again after
a crash finds the invoice already made instead of making a second one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from kit.ids import uuid7
from kit.messaging import add_events, new_event
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.applications.models import invoice_applications as APP
from invoice_svc.applications.models import invoice_lines as LINES
from invoice_svc.applications.models import invoices as INV
from invoice_svc.common.money import yuan
from invoice_svc.documents.model import DocumentLine, Party
from invoice_svc.issuing.events import (
    INVOICE_FAILED,
    INVOICE_ISSUED,
    InvoiceFailed,
    InvoiceIssued,
)
from invoice_svc.issuing.models import invoice_documents, invoice_progress
from invoice_svc.ledger.release import release_invoice, release_unassigned
from invoice_svc.taxplatform.interface import IssueRequest, IssueResult

SOURCE = "/services/invoice-svc"
APPLIED, ISSUING, ISSUED, FAILED, REVOKED = "applied", "issuing", "issued", "failed", "revoked"


@dataclass(frozen=True, slots=True)
class Claimed:
    invoice_id: str
    attempts: int  # including this one: > 1 means the platform may have seen it before


async def claim_due(session: AsyncSession, now: datetime, limit: int,
                    lease: timedelta) -> list[Claimed]:
    """Lease up to `limit` blue invoices that are applied or issuing, due, and not leased by
    anyone; applied ones become issuing here (from now on they cannot be revoked)."""
    due = (select(INV.c.invoice_id).where(
        INV.c.status.in_((APPLIED, ISSUING)), INV.c.kind == "blue",
        (INV.c.next_attempt_at.is_(None)) | (INV.c.next_attempt_at <= now),
        (INV.c.lease_until.is_(None)) | (INV.c.lease_until < now))
        .order_by(INV.c.created_at).limit(limit).with_for_update(skip_locked=True))
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    started = list((await session.execute(
        update(INV).where(INV.c.invoice_id.in_(ids), INV.c.status == APPLIED)
        .values(status=ISSUING).returning(INV.c.invoice_id, INV.c.application_id))).all())
    if started:
        await session.execute(insert(invoice_progress), [{
            "entry_id": str(uuid7()), "invoice_id": row.invoice_id, "status": ISSUING,
            "note": "已提交税务平台开票", "at": now} for row in started])
        await session.execute(update(APP).where(
            APP.c.application_id.in_(sorted({row.application_id for row in started})),
            APP.c.status == APPLIED).values(status=ISSUING))
    rows = (await session.execute(
        update(INV).where(INV.c.invoice_id.in_(ids))
        .values(lease_until=now + lease, attempts=INV.c.attempts + 1, updated_at=now)
        .returning(INV.c.invoice_id, INV.c.attempts))).all()
    return [Claimed(row.invoice_id, row.attempts) for row in rows]


def _party(view: dict[str, Any] | None) -> Party:
    view = view or {}
    return Party(name=view.get("name") or "", taxpayer_id=view.get("taxpayer_id"),
                 address=view.get("address"), phone=view.get("phone"),
                 bank_name=view.get("bank_name"), bank_account=view.get("bank_account"))


def invoice_kind(title_type: str) -> str:
    return "special" if title_type == "enterprise_special" else "general"


async def issue_requests(session: AsyncSession, invoice_ids: Sequence[str],
                         drawer: str) -> dict[str, IssueRequest]:
    """The platform requests for some invoices, from what the customer saw in the preview
    (three queries, however many invoices)."""
    if not invoice_ids:
        return {}
    ids = list(invoice_ids)
    invs = (await session.execute(select(INV.c.invoice_id, INV.c.application_id,
                                         INV.c.invoice_type)
                                  .where(INV.c.invoice_id.in_(ids)))).all()
    apps = {row.application_id: row for row in (await session.execute(
        select(APP.c.application_id, APP.c.document, APP.c.remark, APP.c.email)
        .where(APP.c.application_id.in_({inv.application_id for inv in invs})))).all()}
    lines: dict[str, list[DocumentLine]] = {invoice_id: [] for invoice_id in ids}
    for line in (await session.execute(select(LINES).where(LINES.c.invoice_id.in_(ids))
                                       .order_by(LINES.c.invoice_id, LINES.c.line_no))).all():
        lines[line.invoice_id].append(DocumentLine(
            item_name=line.item_name, net_fen=line.net_fen, tax_rate=Decimal(line.tax_rate),
            tax_fen=line.tax_fen))
    requests = {}
    for inv in invs:
        app = apps[inv.application_id]
        document = json.loads(app.document)
        requests[inv.invoice_id] = IssueRequest(
            order_no=inv.invoice_id, kind=invoice_kind(inv.invoice_type),  # type: ignore[arg-type]
            buyer=_party(document.get("buyer")), seller=_party(document.get("seller")),
            lines=tuple(lines[inv.invoice_id]), drawer=drawer, remark=app.remark or "",
            buyer_email=app.email or None)
    return requests


async def reschedule(session: AsyncSession, invoice_id: str, at: datetime, now: datetime,
                     note: str | None = None) -> None:
    """Give the lease back and come back at `at` (platform busy, unreachable, or still
    issuing)."""
    await session.execute(update(INV).where(
        INV.c.invoice_id == invoice_id, INV.c.status == ISSUING)
        .values(next_attempt_at=at, lease_until=None, updated_at=now))
    if note:
        await add_progress(session, invoice_id, ISSUING, note, now)


async def add_progress(session: AsyncSession, invoice_id: str, status: str, note: str | None,
                       at: datetime) -> None:
    await session.execute(insert(invoice_progress).values(
        entry_id=str(uuid7()), invoice_id=invoice_id, status=status,
        note=note[:500] if note else None, at=at))


async def store_documents(session: AsyncSession, invoice_id: str, documents: dict[str, bytes],
                          now: datetime) -> None:
    await session.execute(insert(invoice_documents), [{
        "invoice_id": invoice_id, "format": fmt, "content": content,
        "sha256": hashlib.sha256(content).hexdigest(), "size_bytes": len(content),
        "created_at": now} for fmt, content in documents.items()])


async def record_issued(session: AsyncSession, outbox: Table,
                        issued: Sequence[tuple[str, IssueResult]], now: datetime) -> list[str]:
    """Issued: numbers, documents, progress entries and `invoice.issued`, for a batch of
    answers in a handful of statements; each invoice once (those no longer issuing, recorded
    by another worker, are left out). Returns the applications to settle."""
    if not issued:
        return []
    results = dict(issued)
    rows = (await session.execute(
        select(INV.c.invoice_id, INV.c.application_id, INV.c.uin, INV.c.invoice_type,
               INV.c.tax_rate, INV.c.amount_fen, APP.c.buyer_name, APP.c.email)
        .select_from(INV.join(APP, APP.c.application_id == INV.c.application_id))
        .where(INV.c.invoice_id.in_(sorted(results)), INV.c.status == ISSUING)
        .order_by(INV.c.invoice_id).with_for_update(of=INV))).all()
    if not rows:
        return []
    issued_at = {row.invoice_id: results[row.invoice_id].issued_at or now for row in rows}
    await session.execute(
        update(INV).where(INV.c.invoice_id == bindparam("iid"))
        .values(status=ISSUED, number=bindparam("num"), issued_at=bindparam("at"),
                lease_until=None, next_attempt_at=None, updated_at=now),
        [{"iid": row.invoice_id, "num": results[row.invoice_id].number,
          "at": issued_at[row.invoice_id]} for row in rows])
    documents: list[tuple[str, str, bytes]] = []
    for row in rows:
        docs = results[row.invoice_id].documents
        assert docs is not None and results[row.invoice_id].number
        documents += [(row.invoice_id, "pdf", docs.pdf), (row.invoice_id, "xml", docs.xml)]
        if docs.ofd is not None:
            documents.append((row.invoice_id, "ofd", docs.ofd))
    await session.execute(insert(invoice_documents), [{
        "invoice_id": invoice_id, "format": fmt, "content": content,
        "sha256": hashlib.sha256(content).hexdigest(), "size_bytes": len(content),
        "created_at": now} for invoice_id, fmt, content in documents])
    await session.execute(insert(invoice_progress), [{
        "entry_id": str(uuid7()), "invoice_id": row.invoice_id, "status": ISSUED,
        "note": f"发票号码 {results[row.invoice_id].number}", "at": issued_at[row.invoice_id]}
        for row in rows])
    await add_events(session, outbox, [new_event(
        INVOICE_ISSUED, source=SOURCE, subject=row.uin, time=now,
        data=InvoiceIssued(
            invoice_id=row.invoice_id, application_id=row.application_id, uin=row.uin,
            kind="blue", number=results[row.invoice_id].number or "",
            issued_at=issued_at[row.invoice_id], invoice_type=row.invoice_type,
            tax_rate=row.tax_rate, total_amount=yuan(row.amount_fen),
            buyer_name=row.buyer_name, email=row.email).model_dump(mode="json"))
        for row in rows])
    return sorted({row.application_id for row in rows})


async def record_failed(session: AsyncSession, outbox: Table, invoice_id: str, code: str,
                        reason: str, now: datetime) -> str | None:
    """Failed with the platform's reason: the reserved money is released in the same
    transaction, and `invoice.failed` says how much; returns the application to settle."""
    row = (await session.execute(update(INV).where(
        INV.c.invoice_id == invoice_id, INV.c.status == ISSUING)
        .values(status=FAILED, failure_code=code[:64], failure_reason=reason[:500],
                lease_until=None, next_attempt_at=None, updated_at=now)
        .returning(INV.c.application_id, INV.c.uin))).first()
    if row is None:
        return None
    released = await release_invoice(session, row.uin, invoice_id, now)
    await add_progress(session, invoice_id, FAILED, f"{code}: {reason}", now)
    data = InvoiceFailed(invoice_id=invoice_id, application_id=row.application_id, uin=row.uin,
                         failure_code=code, failure_reason=reason,
                         released_amount=yuan(released)).model_dump(mode="json")
    await add_events(session, outbox, [new_event(INVOICE_FAILED, source=SOURCE,
                                                 subject=row.uin, data=data, time=now)])
    return row.application_id


async def settle_application(session: AsyncSession, application_id: str,
                             now: datetime) -> None:
    """An application is issued once all its (blue) invoices are, failed once all failed, and
    partially issued when both happened; it stays issuing while any invoice is.

    The application row is locked first: two replicas recording the last two invoices of
    one application each in their own transaction would otherwise each still see the other
    one issuing, and neither would settle it."""
    await session.execute(select(APP.c.application_id).where(
        APP.c.application_id == application_id).with_for_update())
    counts = {status: count for status, count in (await session.execute(
        select(INV.c.status, func.count()).where(INV.c.application_id == application_id,
                                                 INV.c.kind == "blue")
        .group_by(INV.c.status))).all()}
    if counts.get(ISSUING) or counts.get(APPLIED):
        return
    issued, failed, revoked = (counts.get(ISSUED, 0), counts.get(FAILED, 0),
                               counts.get(REVOKED, 0))
    if not failed and not revoked:
        status = ISSUED
    elif issued:
        status = "partially_issued"
    else:
        status = FAILED if failed else REVOKED
    ended = (await session.execute(
        update(APP).where(APP.c.application_id == application_id,
                          APP.c.status.in_((APPLIED, ISSUING)))
        .values(status=status).returning(APP.c.uin))).first()
    if ended is not None and status in (FAILED, REVOKED):  # once: the status moved just now
        await release_unassigned(session, ended.uin, application_id, now)
