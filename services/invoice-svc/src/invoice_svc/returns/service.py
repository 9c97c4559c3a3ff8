"""Returns (退票, INV-REQ-21..25): the database side of the customer's request, the operator's
decisions and the returns worker.

The rules (which status allows what, what a request must contain, who raises the red-letter
form, what is released) are `returns.rules`; this module applies them to rows:

- Every change of an invoice's status is an UPDATE guarded by the status it was read in (and
  the invoice row is read `FOR UPDATE` first on PostgreSQL), so two requests, two operators or
  two worker replicas never both move it. At most one open return per invoice is also held by
  the database (`invoice_returns.open_invoice_id` is UNIQUE).
- Money is released only when the return is complete: for 数电 once the red invoice exists
  (in the same transaction that records it), for legacy media when the operator completes it.
  A void or lapsed form releases nothing. Only full red offsets are supported: a buyer's form
  offsetting part of the invoice is not confirmed (the return goes back to red-letter pending
  with a note) because voiding the blue invoice after a partial red would be wrong.
- A submitted return cannot be withdrawn: there is no operation for it (rules:
  `withdraw_return` is refused from every status). The operator may reject it; the customer may
  then submit a new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kit.clock import iso, utc
from kit.errors import FailedOperation, ResourceNotFound
from kit.ids import uuid7
from kit.messaging import add_events, new_event
from kit.money import amount_in_capitals
from sqlalchemy import Row, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.applications.models import invoice_lines as LINES
from invoice_svc.applications.models import invoices as INV
from invoice_svc.common.money import yuan
from invoice_svc.issuing.models import invoice_documents as DOCS
from invoice_svc.issuing.service import add_progress, store_documents
from invoice_svc.ledger.release import release_invoice
from invoice_svc.records.service import InvoiceNotFound
from invoice_svc.returns import rules
from invoice_svc.returns.events import INVOICE_RETURNED, InvoiceReturned
from invoice_svc.returns.models import COMPLETED, OPEN, REJECTED
from invoice_svc.returns.models import invoice_returns as RET
from invoice_svc.returns.rules import Status
from invoice_svc.taxplatform.interface import (
    FORM_CONFIRMED_STATES,
    IssueResult,
    RedForm,
)

SOURCE = "/services/invoice-svc"
DECISION_REASON_MAX = 500

FORM_STATE_NAMES = {
    "01": "无需确认", "02": "销方录入待购方确认", "03": "购方录入待销方确认",
    "04": "购销双方已确认", "05": "作废（购方否认）", "06": "作废（销方否认）",
    "07": "作废（超72小时未确认）", "08": "作废（发起方已撤销）", "09": "作废（确认后撤销）",
    "10": "作废（异常凭证）",
}


class RedInvoiceNotReturnable(FailedOperation):
    code = "FailedOperation.RedInvoiceNotReturnable"


class ReturnNotFound(ResourceNotFound):
    code = "ResourceNotFound.InvoiceReturn"


class RedInvoiceInProgress(FailedOperation):
    code = "FailedOperation.RedInvoiceInProgress"


class ReturnConcurrentlyChanged(FailedOperation):
    code = "FailedOperation.ConcurrentModification"


# --------------------------------------------------------------------------- reads


async def _invoice(session: AsyncSession, invoice_id: str, uin: str | None,
                   *, lock: bool = False) -> Row[Any]:
    query = select(INV).where(INV.c.invoice_id == invoice_id)
    if uin is not None:
        query = query.where(INV.c.uin == uin)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise InvoiceNotFound(f"invoice {invoice_id} not found", details={"field": "invoice_id"})
    return row


async def _open_return(session: AsyncSession, invoice_id: str) -> Row[Any] | None:
    return (await session.execute(select(RET).where(
        RET.c.invoice_id == invoice_id, RET.c.state == OPEN))).first()


async def _latest_return(session: AsyncSession, invoice_id: str) -> Row[Any] | None:
    return (await session.execute(select(RET).where(RET.c.invoice_id == invoice_id)
                                  .order_by(RET.c.created_at.desc(), RET.c.return_id.desc())
                                  .limit(1))).first()


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def return_view(session: AsyncSession, ret: Row[Any]) -> dict[str, Any]:
    red_number = None
    if ret.red_invoice_id:
        red_number = (await session.execute(select(INV.c.number).where(
            INV.c.invoice_id == ret.red_invoice_id))).scalar_one_or_none()
    materials = json.loads(ret.materials) if ret.materials else []
    return {
        "return_id": ret.return_id, "invoice_id": ret.invoice_id, "state": ret.state,
        "medium": ret.medium, "reason": ret.reason,
        "reason_name": rules.RETURN_REASON_NAMES.get(ret.reason, ret.reason),
        "red_reason": ret.red_reason, "description": ret.description, "deducted": ret.deducted,
        "form_raised_by": ret.form_raised_by,
        "form_raised_by_name": rules.RAISED_BY_NAMES.get(ret.form_raised_by or ""),
        "red_form_number": ret.red_form_number, "form_state": ret.form_state,
        "form_state_name": FORM_STATE_NAMES.get(ret.form_state or ""),
        "form_created_at": iso(ret.form_created_at),
        "form_deadline": (iso(rules.form_deadline(utc(ret.form_created_at)))
                          if ret.form_created_at is not None
                          and ret.form_state not in FORM_CONFIRMED_STATES else None),
        "courier_company": ret.courier_company, "tracking_number": ret.tracking_number,
        "materials": materials,
        "material_names": [rules.MATERIAL_NAMES.get(m, m) for m in materials],
        "review_by": _day(ret.review_by), "complete_from": _day(ret.complete_from),
        "complete_by": _day(ret.complete_by), "notice": ret.notice,
        "decision": ret.decision, "decision_reason": ret.decision_reason,
        "decided_at": iso(ret.decided_at), "note": ret.note,
        "red_invoice_id": ret.red_invoice_id, "red_invoice_number": red_number,
        "released_amount": yuan(ret.released_fen) if ret.released_fen is not None else None,
        "created_at": iso(ret.created_at), "updated_at": iso(ret.updated_at),
    }


async def describe_returns(session: AsyncSession, uin: str, invoice_id: str) -> dict[str, Any]:
    """The invoice's status and its returns, the current (or last) one first."""
    invoice = await _invoice(session, invoice_id, uin)
    rows = (await session.execute(select(RET).where(RET.c.invoice_id == invoice_id)
                                  .order_by(RET.c.created_at.desc(),
                                            RET.c.return_id.desc()))).all()
    views = [await return_view(session, r) for r in rows]
    return {"invoice_id": invoice_id, "status": invoice.status,
            "status_name": rules.status_name(invoice.status),
            "withdrawable": False,  # a submitted return cannot be withdrawn (INV-REQ-24)
            "current": views[0] if views else None, "returns": views}


class InvoiceNotIssued(FailedOperation):
    code = "FailedOperation.InvoiceNotIssued"


async def lost_invoice_remedy(session: AsyncSession, uin: str, invoice_id: str,
                              now: datetime) -> dict[str, Any]:
    """INV-REQ-26: what to do about a lost invoice. Electronic and 数电: download it again
    (the formats on file); paper: a stamped scan of the stub on request, by ticket, in 5-7
    business days (the ticket itself is not handled here)."""
    invoice = await _invoice(session, invoice_id, uin)
    if invoice.number is None:
        raise InvoiceNotIssued("发票尚未开具 (the invoice has not been issued)",
                               details={"invoice_id": invoice_id})
    remedy = rules.lost_invoice_remedy(invoice.medium, invoice.invoice_type, now)
    formats = list((await session.execute(
        select(DOCS.c.format).where(DOCS.c.invoice_id == invoice_id)
        .order_by(DOCS.c.format))).scalars())
    return {"invoice_id": invoice_id, "number": invoice.number, "medium": invoice.medium,
            "action": remedy.action, "ready_from": _day(remedy.ready_from),
            "ready_by": _day(remedy.ready_by), "ticket_fields": list(remedy.ticket_fields),
            "notice": remedy.notice,
            "documents": formats if remedy.action == "download_again" else []}


# --------------------------------------------------------------------------- customer


async def _move(session: AsyncSession, invoice_id: str, source: str, target: str,
                now: datetime) -> None:
    """Guarded status change of an invoice; a lost race is a conflict (nothing changed)."""
    moved = (await session.execute(update(INV).where(
        INV.c.invoice_id == invoice_id, INV.c.status == source)
        .values(status=target, updated_at=now).returning(INV.c.invoice_id))).first()
    if moved is None:
        raise ReturnConcurrentlyChanged("发票状态已被其他操作修改，请刷新后重试"
                                        " (the invoice changed meanwhile; retry)")


async def submit_return(session: AsyncSession, uin: str, invoice_id: str,
                        request: rules.ReturnRequest, now: datetime,
                        created_by: str | None = None) -> dict[str, Any]:
    """The customer's 退票 request (INV-REQ-22..25); it cannot be withdrawn afterwards."""
    invoice = await _invoice(session, invoice_id, uin, lock=True)
    if invoice.kind != "blue":
        raise RedInvoiceNotReturnable("红字发票不能申请退票 (a red invoice cannot be returned)",
                                      details={"invoice_id": invoice_id})
    plan = rules.plan_return(status=invoice.status, medium=invoice.medium,
                             invoice_type=invoice.invoice_type, request=request,
                             submitted_at=now)
    await _move(session, invoice_id, invoice.status, plan.next_status.value, now)
    # 数电 returns going straight to returning need the platform: the worker picks them up.
    due = now if (plan.medium == "fully_digital"
                  and plan.next_status is Status.RETURNING) else None
    return_id = str(uuid7())
    await session.execute(insert(RET).values(
        return_id=return_id, invoice_id=invoice_id, open_invoice_id=invoice_id, uin=uin,
        state=OPEN, medium=plan.medium, reason=plan.reason, red_reason=plan.red_reason,
        description=plan.description, deducted=plan.deducted,
        form_raised_by=plan.form_raised_by, red_form_number=plan.red_form_number,
        courier_company=plan.courier_company, tracking_number=plan.tracking_number,
        materials=json.dumps(list(plan.materials)) if plan.materials else None,
        review_by=plan.review_by, complete_from=plan.complete_from,
        complete_by=plan.complete_by, notice=plan.notice, created_by=created_by,
        created_at=now, updated_at=now, next_check_at=due))
    note = f"申请退票：{rules.RETURN_REASON_NAMES[plan.reason]}"
    if plan.description:
        note += f"（{plan.description}）"
    if plan.red_form_number:
        note += f"；红字确认单号 {plan.red_form_number}"
    await add_progress(session, invoice_id, plan.next_status.value, note, now)
    ret = (await session.execute(select(RET).where(RET.c.return_id == return_id))).one()
    return await return_view(session, ret) | {"status": plan.next_status.value,
                                              "status_name": plan.next_status.display_name}


async def supply_red_form(session: AsyncSession, uin: str, invoice_id: str,
                          form_number: str | None, now: datetime) -> dict[str, Any]:
    """The buyer raised the form on the platform; the customer gives us its number later
    (red_letter_pending -> returning). The worker confirms it."""
    invoice = await _invoice(session, invoice_id, uin, lock=True)
    accepted = rules.accept_red_form_number(status=invoice.status, red_form_number=form_number,
                                            received_at=now)
    ret = await _open_return(session, invoice_id)
    assert ret is not None, "an invoice in red_letter_pending has an open return"
    await _accept_form(session, ret.return_id, invoice_id, accepted, now,
                       "已提交红字确认单号")
    ret = (await session.execute(select(RET).where(RET.c.return_id == ret.return_id))).one()
    return await return_view(session, ret) | {"status": accepted.next_status.value,
                                              "status_name": accepted.next_status.display_name}


async def _accept_form(session: AsyncSession, return_id: str, invoice_id: str,
                       accepted: rules.FormAccepted, now: datetime, what: str) -> None:
    await _move(session, invoice_id, Status.RED_LETTER_PENDING.value,
                accepted.next_status.value, now)
    await session.execute(update(RET).where(RET.c.return_id == return_id).values(
        red_form_number=accepted.red_form_number, form_raised_by="buyer", form_state=None,
        form_created_at=None, complete_from=accepted.complete_from,
        complete_by=accepted.complete_by, next_check_at=now, lease_until=None, note=None,
        updated_at=now))
    await add_progress(session, invoice_id, accepted.next_status.value,
                       f"{what} {accepted.red_form_number}", now)


# --------------------------------------------------------------------------- operator


async def _operator_target(session: AsyncSession, invoice_id: str) -> tuple[Row[Any], Row[Any]]:
    invoice = await _invoice(session, invoice_id, None, lock=True)
    ret = await _open_return(session, invoice_id)
    if ret is None:
        # Let the rules name the refusal (e.g. "issued does not allow operator_approve").
        rules.transition(invoice.status, "operator_reject")
        raise ReturnNotFound(f"invoice {invoice_id} has no open return",
                             details={"invoice_id": invoice_id})
    return invoice, ret


async def approve_return(session: AsyncSession, invoice_id: str, operator: str | None,
                         now: datetime) -> dict[str, Any]:
    """Paper: the clerk reviewed the request (return_pending -> returning); completion is due
    3 business days after the materials arrive (counted from now)."""
    invoice, ret = await _operator_target(session, invoice_id)
    target = rules.transition(invoice.status, "operator_approve", invoice.medium)
    await _move(session, invoice_id, invoice.status, target.value, now)
    day = rules.paper_complete_by(now)
    await session.execute(update(RET).where(RET.c.return_id == ret.return_id).values(
        decision="approved", decided_by=operator, decided_at=now, complete_by=day,
        updated_at=now))
    await add_progress(session, invoice_id, target.value, "发票专员审核通过退票", now)
    return await _operator_answer(session, ret.return_id, target)


async def reject_return(session: AsyncSession, invoice_id: str, reason: str,
                        operator: str | None, now: datetime) -> dict[str, Any]:
    """Reject an open return with a reason: return_rejected; the customer may submit again.
    Refused once a confirmed form has the red invoice on its way (it cannot be stopped)."""
    invoice, ret = await _operator_target(session, invoice_id)
    target = rules.transition(invoice.status, "operator_reject", invoice.medium)
    if invoice.medium == "fully_digital" and invoice.status == Status.RETURNING.value:
        # The returns worker may have a red-letter form at the platform already (raised or
        # confirmed, its answer perhaps lost): a red invoice can appear at any moment and
        # cannot be stopped from here. Such a return ends voided, or back in
        # red_letter_pending if the platform voids the form.
        raise RedInvoiceInProgress(
            "红字确认单已提交税务平台，不能驳回 (the red-letter form is with the tax platform;"
            " the return cannot be rejected now)",
            details={"red_form_number": ret.red_form_number})
    if ret.form_state in FORM_CONFIRMED_STATES:
        raise RedInvoiceInProgress(
            "红字确认单已确认，红字发票即将开具，不能驳回 (the red-letter form is confirmed and the"
            " red invoice is being issued; the return cannot be rejected)",
            details={"red_form_number": ret.red_form_number})
    await _move(session, invoice_id, invoice.status, target.value, now)
    await session.execute(update(RET).where(RET.c.return_id == ret.return_id).values(
        state=REJECTED, open_invoice_id=None, decision="rejected", decision_reason=reason,
        decided_by=operator, decided_at=now, next_check_at=None, lease_until=None,
        updated_at=now))
    await add_progress(session, invoice_id, target.value, f"退票驳回：{reason}", now)
    return await _operator_answer(session, ret.return_id, target)


async def complete_return(session: AsyncSession, outbox: Table, invoice_id: str,
                          operator: str | None, now: datetime) -> dict[str, Any]:
    """Legacy electronic and paper returns, by hand: voided, money released, event."""
    invoice, ret = await _operator_target(session, invoice_id)
    target = rules.transition(invoice.status, "complete_return", invoice.medium)
    await _move(session, invoice_id, invoice.status, target.value, now)
    released = await release_invoice(session, invoice.uin, invoice_id, now)
    await session.execute(update(RET).where(RET.c.return_id == ret.return_id).values(
        state=COMPLETED, open_invoice_id=None, decision="completed", decided_by=operator,
        decided_at=now, released_fen=released, next_check_at=None, lease_until=None,
        updated_at=now))
    await add_progress(session, invoice_id, target.value,
                       f"退票完成，发票已作废，释放开票金额 {yuan(released)} 元", now)
    await _publish_returned(session, outbox, invoice, ret, released, now, "operator")
    return await _operator_answer(session, ret.return_id, target)


async def _operator_answer(session: AsyncSession, return_id: str,
                           status: Status) -> dict[str, Any]:
    ret = (await session.execute(select(RET).where(RET.c.return_id == return_id))).one()
    return await return_view(session, ret) | {"status": status.value,
                                              "status_name": status.display_name}


async def _publish_returned(session: AsyncSession, outbox: Table, invoice: Row[Any],
                            ret: Row[Any], released: int, now: datetime, by: str, *,
                            red_invoice_id: str | None = None, red_number: str | None = None,
                            red_form_number: str | None = None) -> None:
    data = InvoiceReturned(
        return_id=ret.return_id, invoice_id=invoice.invoice_id,
        application_id=invoice.application_id, uin=invoice.uin, number=invoice.number,
        medium=invoice.medium, reason=ret.reason, status=Status.VOIDED.value, voided_at=now,
        released_amount=yuan(released), completed_by=by, red_invoice_id=red_invoice_id,
        red_number=red_number, red_form_number=red_form_number).model_dump(mode="json")
    await add_events(session, outbox, [new_event(INVOICE_RETURNED, source=SOURCE,
                                                 subject=invoice.uin, data=data, time=now)])


# --------------------------------------------------------------------------- worker side


@dataclass(frozen=True, slots=True)
class Claimed:
    return_id: str
    invoice_id: str
    invoice_number: str | None
    amount_fen: int
    status: str  # the invoice's
    red_reason: str
    form_raised_by: str | None
    red_form_number: str | None
    attempts: int


async def claim_due(session: AsyncSession, now: datetime, limit: int,
                    lease: timedelta) -> list[Claimed]:
    """Lease up to `limit` open returns whose platform side is due and not leased."""
    due = (select(RET.c.return_id).where(
        RET.c.state == OPEN, RET.c.next_check_at.is_not(None), RET.c.next_check_at <= now,
        (RET.c.lease_until.is_(None)) | (RET.c.lease_until < now))
        .order_by(RET.c.next_check_at).limit(limit).with_for_update(skip_locked=True))
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    rows = (await session.execute(
        update(RET).where(RET.c.return_id.in_(ids))
        .values(lease_until=now + lease, attempts=RET.c.attempts + 1)
        .returning(RET.c.return_id))).scalars().all()
    claimed = (await session.execute(
        select(RET.c.return_id, RET.c.invoice_id, RET.c.red_reason, RET.c.form_raised_by,
               RET.c.red_form_number, RET.c.attempts, INV.c.number, INV.c.amount_fen,
               INV.c.status)
        .select_from(RET.join(INV, INV.c.invoice_id == RET.c.invoice_id))
        .where(RET.c.return_id.in_(list(rows))))).all()
    return [Claimed(r.return_id, r.invoice_id, r.number, r.amount_fen, r.status, r.red_reason,
                    r.form_raised_by, r.red_form_number, r.attempts) for r in claimed]


async def reschedule(session: AsyncSession, return_id: str, at: datetime | None,
                     now: datetime, *, form: RedForm | None = None,
                     note: str | None = None) -> None:
    values: dict[str, Any] = {"next_check_at": at, "lease_until": None, "updated_at": now}
    if form is not None:
        values |= {"red_form_number": form.form_number, "form_state": form.state,
                   "form_created_at": form.created_at}
    if note is not None:
        values["note"] = note[:500]
    await session.execute(update(RET).where(RET.c.return_id == return_id, RET.c.state == OPEN)
                          .values(**values))


async def record_form_void(session: AsyncSession, claimed: Claimed, form_state: str | None,
                           note: str, now: datetime) -> bool:
    """The form is void, lapsed, unknown or unusable: back to red_letter_pending (a new form
    number is needed); the blue invoice stays valid and nothing is released."""
    target = rules.transition(Status.RETURNING, "form_void", "fully_digital")
    moved = (await session.execute(update(INV).where(
        INV.c.invoice_id == claimed.invoice_id, INV.c.status == Status.RETURNING.value)
        .values(status=target.value, updated_at=now).returning(INV.c.invoice_id))).first()
    if moved is None:
        return False
    await session.execute(update(RET).where(RET.c.return_id == claimed.return_id).values(
        red_form_number=None, form_state=form_state, form_created_at=None,
        complete_from=None, complete_by=None, next_check_at=None, lease_until=None,
        note=note[:500], updated_at=now))
    await add_progress(session, claimed.invoice_id, target.value, note, now)
    return True


async def match_inbound_form(session: AsyncSession, form: RedForm, now: datetime) -> bool:
    """A buyer-raised form (03) against one of our invoices whose return waits in
    red_letter_pending without a number: take its number ("系统将自动填记红字单号") and let the
    worker confirm it. Anything else (no such invoice, no open return, a partial offset, a
    return already holding another number) is left alone."""
    invoice = (await session.execute(select(INV).where(
        INV.c.number == form.blue_number, INV.c.kind == "blue")
        .with_for_update())).first()
    if invoice is None or invoice.status != Status.RED_LETTER_PENDING.value:
        return False
    if -form.amount_fen != invoice.amount_fen:
        return False
    ret = await _open_return(session, invoice.invoice_id)
    if ret is None or ret.red_form_number is not None:
        return False
    accepted = rules.accept_red_form_number(status=invoice.status,
                                            red_form_number=form.form_number, received_at=now)
    await _accept_form(session, ret.return_id, invoice.invoice_id, accepted, now,
                       "收到购方发起的红字确认单")
    return True


async def record_red_invoice(session: AsyncSession, outbox: Table, claimed: Claimed,
                             form: RedForm, result: IssueResult, now: datetime) -> bool:
    """The red invoice exists: its row, lines and documents; the blue invoice voided and its
    money released; progress and `invoice.returned`. Once (False if another worker did it)."""
    assert result.number and result.documents is not None
    target = rules.transition(Status.RETURNING, "red_invoice_issued", "fully_digital")
    blue = (await session.execute(update(INV).where(
        INV.c.invoice_id == claimed.invoice_id, INV.c.status == Status.RETURNING.value)
        .values(status=target.value, updated_at=now).returning(*INV.c))).first()
    if blue is None:
        return False
    ret = (await session.execute(select(RET).where(RET.c.return_id == claimed.return_id))
           ).one()
    release = rules.balance_release("red_invoice_issued", blue.amount_fen,
                                    red_amount_fen=form.amount_fen)
    if release.amount_fen != blue.amount_fen:  # guarded by the worker; partial not supported
        raise AssertionError("partial red invoices are not supported")
    issued_at = result.issued_at or now
    blue_lines = (await session.execute(select(LINES).where(
        LINES.c.invoice_id == blue.invoice_id).order_by(LINES.c.line_no))).all()
    red_lines = [(blue_lines[i], net, tax) for i, net, tax in form.lines]
    net_fen = sum(net for _, net, _ in red_lines)
    tax_fen = sum(tax for _, _, tax in red_lines)
    red_id = str(uuid7())
    await session.execute(insert(INV).values(
        invoice_id=red_id, application_id=blue.application_id, uin=blue.uin,
        invoice_type=blue.invoice_type, tax_rate=blue.tax_rate, amount_fen=net_fen + tax_fen,
        net_fen=net_fen, tax_fen=tax_fen, amount_in_capitals=amount_in_capitals(
            net_fen + tax_fen), status=Status.ISSUED.value, created_at=now, kind="red",
        medium=blue.medium, number=result.number, issued_at=issued_at,
        original_invoice_id=blue.invoice_id, red_form_number=form.form_number,
        attempts=0, updated_at=now))
    if red_lines:
        await session.execute(insert(LINES), [{
            "invoice_id": red_id, "line_no": n, "item_name": line.item_name,
            "tax_rate": line.tax_rate, "amount_fen": net + tax, "net_fen": net, "tax_fen": tax}
            for n, (line, net, tax) in enumerate(red_lines, start=1)])
    docs = {"pdf": result.documents.pdf, "xml": result.documents.xml}
    if result.documents.ofd is not None:
        docs["ofd"] = result.documents.ofd
    await store_documents(session, red_id, docs, now)
    released = await release_invoice(session, blue.uin, blue.invoice_id, now)
    await session.execute(update(RET).where(RET.c.return_id == claimed.return_id).values(
        state=COMPLETED, open_invoice_id=None, red_invoice_id=red_id, form_state=form.state,
        red_form_number=form.form_number, released_fen=released, next_check_at=None,
        lease_until=None, note=None, updated_at=now))
    await add_progress(session, red_id, Status.ISSUED.value,
                       f"红字发票号码 {result.number}（冲销 {blue.number}）", issued_at)
    await add_progress(session, blue.invoice_id, target.value,
                       f"红字发票 {result.number} 已开具，发票已作废，释放开票金额"
                       f" {yuan(released)} 元", now)
    await _publish_returned(session, outbox, blue, ret, released, now, "platform",
                            red_invoice_id=red_id, red_number=result.number,
                            red_form_number=form.form_number)
    return True
