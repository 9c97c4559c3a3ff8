"""Invoice applications (INV-REQ-13..16, 18): match, preview, apply.

One path serves all three: `prepare` checks the request without the database (amounts,
remark, email), `resolve` turns it into record-level amounts against the account's balances,
`price` makes one invoice per tax rate, `document` is what the customer sees. Applying does it
while holding the account's ledger lock, then reserves the money (record balances and ledger
counters decrease), stores the application with its invoices and allocations, and stages
`billing.invoice.applied.v1` in the same transaction. Nothing is reserved unless everything
checks, and the total reserved never exceeds the net invoiceable amount (legacy + all record
balances) at that moment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kit.clock import iso, utc
from kit.errors import (
    AppError,
    FailedOperation,
    InvalidParameter,
    InvalidParameterValue,
    MissingParameter,
    ResourceNotFound,
)
from kit.ids import uuid7
from kit.messaging import add_events, new_event
from kit.money import amount_in_capitals
from sqlalchemy import Row, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.accounts.service import load_profile, require_invoicing_allowed
from invoice_svc.applications.allocation import spread
from invoice_svc.applications.drafting import InvoiceDraft, draft_invoices, rate_key
from invoice_svc.applications.events import INVOICE_APPLIED, InvoiceApplied
from invoice_svc.applications.models import (
    application_allocations,
    invoice_applications,
    invoice_lines,
    invoices,
)
from invoice_svc.applications.schemas import InvoiceRequest
from invoice_svc.common.cursor import encode_cursor
from invoice_svc.common.money import to_fen, yuan
from invoice_svc.common.sql import dialect_of
from invoice_svc.common.text import blank_to_none, gbk_text
from invoice_svc.config import Settings
from invoice_svc.issuing.models import invoice_progress
from invoice_svc.ledger import buckets
from invoice_svc.ledger import service as ledger
from invoice_svc.ledger.records import kind_label
from invoice_svc.ledger.service import LedgerState
from invoice_svc.matching import (
    INSUFFICIENT_CODE,
    Allocation,
    AllocationError,
    CandidateRecord,
    group_by_tax_rate,
    propose_by_amount,
    validate_adjusted_allocation,
)
from invoice_svc.titles.rules import Buyer
from invoice_svc.titles.service import buyer_for

SOURCE = "/services/invoice-svc"
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


class RecordNotFound(ResourceNotFound):
    code = "ResourceNotFound.InvoiceableRecord"


class BillNotFound(ResourceNotFound):
    code = "ResourceNotFound.MonthlyBill"


class MarketplaceRecord(FailedOperation):
    code = "FailedOperation.MarketplaceRecord"


class OutOfScopeRecord(FailedOperation):
    code = "FailedOperation.OutOfScopeRecord"


class RecordNotInvoiceable(FailedOperation):
    code = "FailedOperation.RecordNotInvoiceable"


class BillNotInvoiceable(FailedOperation):
    code = "FailedOperation.MonthlyBillNotInvoiceable"


class AmountInsufficient(FailedOperation):
    code = INSUFFICIENT_CODE


class NegativeInvoice(FailedOperation):
    code = "FailedOperation.NegativeInvoiceAmount"


class BuyerBankInfoMissing(FailedOperation):
    code = "FailedOperation.BuyerBankInfoMissing"


class EmailInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.Email"


class DuplicateEntry(InvalidParameterValue):
    code = "InvalidParameterValue.DuplicateRecord"


def allocation_error(exc: AllocationError, *, bills: bool = False) -> AppError:
    """The matcher's refusal as an API error (same code, status by its family)."""
    message = exc.message.replace("消费记录", "月账单") if bills else exc.message
    status = 404 if exc.code.startswith("ResourceNotFound") else (
        409 if exc.code.startswith("FailedOperation") else 400)
    details = {"record_id": exc.record_id} if exc.record_id and not bills else (
        {"month": exc.record_id} if exc.record_id else {})
    return AppError(message, code=exc.code, status=status, details=details)


# ----------------------------------------------------------------------------- prepare (no I/O)

@dataclass(frozen=True)
class Prepared:
    mode: str
    match_by: str
    legacy_rate: Decimal
    record_ids: tuple[str, ...] = ()
    months: tuple[str, ...] = ()
    total_fen: int | None = None
    adjusted: Allocation | None = None
    remark: str | None = None
    email: str | None = None
    show_buyer_bank: bool = False
    show_seller_bank: bool = False


def _unique(values: Sequence[str], what: str) -> tuple[str, ...]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise DuplicateEntry(f"{what} {value} 重复出现", details={"field": what})
        seen.add(value)
    return tuple(values)


def _only(req: InvoiceRequest, allowed: set[str]) -> None:
    for name in ("record_ids", "months", "total_amount", "allocation"):
        if name not in allowed and getattr(req, name) is not None:
            raise InvalidParameter(f"{name} is not used when mode is {req.mode!r}",
                                   details={"field": name})


def check_email(value: str) -> str:
    email = value.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise EmailInvalid(f"接收发票的电子邮箱格式不正确：{value!r}", details={"field": "email"})
    return email


def prepare(req: InvoiceRequest, settings: Settings) -> Prepared:
    """Everything about a request that needs no database; raises on the first problem."""
    common: dict[str, Any] = {
        "mode": req.mode, "match_by": req.match_by,
        "legacy_rate": Decimal(req.legacy_tax_rate or settings.legacy_tax_rate),
        "show_buyer_bank": req.show_buyer_bank, "show_seller_bank": req.show_seller_bank,
    }
    if (remark := blank_to_none(req.remark)) is not None:
        common["remark"] = gbk_text(remark, settings.remark_max_bytes, "备注", stem="Remark",
                                    multiline=True, param="remark")
    if req.email is not None:
        common["email"] = check_email(req.email)
    if req.mode == "records":
        _only(req, {"record_ids"})
        if not req.record_ids:
            raise MissingParameter("record_ids: 请选择要开票的消费记录",
                                   details={"field": "record_ids"})
        return Prepared(record_ids=_unique(req.record_ids, "record_ids"), **common)
    if req.mode == "bills":
        _only(req, {"months"})
        if not req.months:
            raise MissingParameter("months: 请选择要开票的月账单", details={"field": "months"})
        return Prepared(months=_unique(req.months, "months"), **common)
    _only(req, {"total_amount", "allocation"})
    if req.total_amount is None:
        raise MissingParameter("total_amount: 请输入开票金额", details={"field": "total_amount"})
    total = to_fen(req.total_amount, "total_amount", positive=True)
    adjusted = None
    if req.allocation is not None:
        key = "record_id" if req.match_by == "records" else "month"
        lines = []
        for index, line in enumerate(req.allocation.lines):
            ref = getattr(line, key)
            other = line.month if key == "record_id" else line.record_id
            if ref is None or other is not None:
                raise InvalidParameter(
                    f"allocation.lines[{index}]: give {key} (match_by is {req.match_by!r})",
                    details={"field": f"allocation.lines[{index}]"})
            lines.append((ref, to_fen(line.amount, f"allocation.lines[{index}].amount")))
        legacy = to_fen(req.allocation.legacy_amount, "allocation.legacy_amount")
        adjusted = Allocation.from_lines(legacy, lines)
    return Prepared(total_fen=total, adjusted=adjusted, **common)


# ----------------------------------------------------------------------------- resolve

@dataclass
class Resolved:
    """Record-level amounts (non-zero), the rows they draw on, and the bill-level lines."""

    total_fen: int
    legacy_fen: int
    lines: list[tuple[str, int]]
    rows: dict[str, Row[Any]]
    bill_lines: list[tuple[str, int]] | None = None


def _check_rows(ids: Sequence[str], rows: dict[str, Row[Any]], settings: Settings) -> None:
    """Other accounts' records are absent from `rows`: they are "not found", like unknown ids."""
    missing = [record_id for record_id in ids if record_id not in rows]
    if missing:
        raise RecordNotFound(f"消费记录 {missing[0]} 不存在 (no such consumption record)",
                             details={"record_ids": missing[:20]})
    for record_id in ids:
        row = rows[record_id]
        if row.marketplace:
            vendor = row.vendor_name or row.vendor_id or "服务商"
            raise MarketplaceRecord(
                f"消费记录 {record_id}（{row.product_name}）是云市场商品，"
                f"由服务商 {vendor} 开具发票，"
                "请前往云市场开票页面提交申请 (marketplace purchases are invoiced by their vendor)",
                details={"record_id": record_id})
        if row.out_of_scope is not None:
            where = (settings.redirected_products.get(row.product_code, "请前往对应产品的开票页面")
                     if row.out_of_scope == "redirected"
                     else "使用微信支付购买的云开发产品，请前往微信 IDE 控制台提交开票申请")
            raise OutOfScopeRecord(
                f"消费记录 {record_id}（{row.product_name}）不在本处开票：{where}",
                details={"record_id": record_id})


def _check_total(total: int, state: LedgerState) -> None:
    if total <= 0:
        raise NegativeInvoice(f"所选项目的可开票金额合计为 {yuan(total)} 元，须大于 0",
                              details={"total_amount": yuan(total)})
    if total > state.total_fen:
        raise AmountInsufficient(
            f"可开票金额不足：本次开票总额 {yuan(total)} 元，"
            f"当前可开票金额 {yuan(state.total_fen)} 元"
            "（含退款等负数记录的净额）", details={"invoiceable_amount": yuan(state.total_fen)})


def _candidates(rows: Sequence[Row[Any]]) -> dict[str, list[CandidateRecord]]:
    by_month: dict[str, list[CandidateRecord]] = {}
    for row in rows:
        by_month.setdefault(row.bill_month, []).append(CandidateRecord(
            row.record_id, utc(row.occurred_at), row.balance_fen, Decimal(row.tax_rate)))
    return by_month


async def _expand_bills(session: AsyncSession, uin: str, bill_lines: list[tuple[str, int]],
                        *, lock: bool) -> tuple[list[tuple[str, int]], dict[str, Row[Any]]]:
    months = [month for month, amount in bill_lines if amount]
    rows = await ledger.month_records(session, uin, months, lock=lock) if months else []
    by_month = _candidates(rows)
    lines: list[tuple[str, int]] = []
    for month, amount in bill_lines:
        if amount:
            try:
                lines.extend(spread(amount, by_month.get(month, [])))
            except AllocationError as exc:
                raise allocation_error(exc, bills=True) from None
    return lines, {row.record_id: row for row in rows}


async def _bill_balances(session: AsyncSession, uin: str,
                         months: Sequence[str]) -> dict[str, int]:
    found = {row.bill_month: int(row.balance_fen)
             for row in await ledger.bill_balances(session, uin, months)}
    missing = [month for month in months if month not in found]
    if missing:
        raise BillNotFound(f"月账单 {missing[0]} 不存在 (no such monthly bill)",
                           details={"months": missing[:20]})
    return found


async def resolve(session: AsyncSession, uin: str, p: Prepared, state: LedgerState,
                  settings: Settings, *, lock: bool) -> Resolved:
    if p.mode == "records":
        rows = await ledger.records_by_ids(session, uin, p.record_ids, lock=lock)
        _check_rows(p.record_ids, rows, settings)
        for record_id in p.record_ids:
            if rows[record_id].balance_fen == 0:
                raise RecordNotInvoiceable(f"消费记录 {record_id} 的可开票余额为 0（已开票）",
                                           details={"record_id": record_id})
        lines = [(record_id, rows[record_id].balance_fen) for record_id in p.record_ids]
        total = sum(amount for _, amount in lines)
        _check_total(total, state)
        return Resolved(total, 0, lines, rows)
    if p.mode == "bills":
        balances = await _bill_balances(session, uin, p.months)
        for month in p.months:
            if balances[month] == 0:
                raise BillNotInvoiceable(f"月账单 {month} 的可开票金额为 0",
                                         details={"month": month})
        bill_lines = [(month, balances[month]) for month in p.months]
        total = sum(balances.values())
        _check_total(total, state)
        lines, rows = await _expand_bills(session, uin, bill_lines, lock=lock)
        return Resolved(total, 0, lines, rows, bill_lines)
    return await _resolve_amount(session, uin, p, state, settings, lock=lock)


async def _resolve_amount(session: AsyncSession, uin: str, p: Prepared, state: LedgerState,
                          settings: Settings, *, lock: bool) -> Resolved:
    total = p.total_fen
    assert total is not None
    bills = p.match_by == "bills"
    seen: dict[str, Row[Any]] = {}
    try:
        if p.adjusted is None and not bills:
            # Under the ledger lock no balance can move, so the rows read while proposing
            # are current: no second read of the chosen records.
            allocation = await session.run_sync(lambda s: propose_by_amount(
                total, state.legacy_fen, ledger.iter_candidates(s, uin, rows_out=seen),
                invoiceable_total_fen=state.total_fen))
        elif p.adjusted is None:
            candidates = ledger.bill_candidates(await ledger.bill_balances(session, uin))
            allocation = propose_by_amount(total, state.legacy_fen, candidates,
                                           invoiceable_total_fen=state.total_fen)
        elif not bills:
            seen = await ledger.records_by_ids(session, uin, p.adjusted.record_ids, lock=lock)
            _check_rows(p.adjusted.record_ids, seen, settings)
            allocation = validate_adjusted_allocation(
                total, state.legacy_fen, p.adjusted,
                {record_id: row.balance_fen for record_id, row in seen.items()},
                invoiceable_total_fen=state.total_fen)
        else:
            balances = await _bill_balances(session, uin, sorted(set(p.adjusted.record_ids)))
            allocation = validate_adjusted_allocation(
                total, state.legacy_fen, p.adjusted, balances,
                invoiceable_total_fen=state.total_fen)
    except AllocationError as exc:
        raise allocation_error(exc, bills=bills) from None
    if bills:
        bill_lines = list(allocation.lines)
        lines, rows = await _expand_bills(session, uin, bill_lines, lock=lock)
        return Resolved(total, allocation.legacy_fen, lines, rows, bill_lines)
    lines = list(allocation.lines)
    return Resolved(total, allocation.legacy_fen, lines, {rid: seen[rid] for rid, _ in lines})


# ----------------------------------------------------------------------------- price, document

def price(resolved: Resolved, p: Prepared, settings: Settings) -> list[InvoiceDraft]:
    """One invoice per tax rate (INV-REQ-14); refuses a rate that nets below zero."""
    rates: dict[str, Decimal] = {}
    rate_of = {rid: rates.setdefault(row.tax_rate, Decimal(row.tax_rate))
               for rid, row in resolved.rows.items()}
    allocation = Allocation.from_lines(resolved.legacy_fen, resolved.lines)
    try:
        groups = group_by_tax_rate(allocation, rate_of, legacy_tax_rate=p.legacy_rate)
    except AllocationError as exc:
        raise allocation_error(exc) from None
    products = {rid: row.product_name for rid, row in resolved.rows.items()}
    return draft_invoices(groups, products, settings.item_categories)


def _party(name: str, taxpayer_id: str | None, address: str | None, phone: str | None,
           bank_name: str | None, bank_account: str | None, show_bank: bool) -> dict[str, Any]:
    return {"name": name, "taxpayer_id": taxpayer_id, "address": address, "phone": phone,
            "bank_name": bank_name if show_bank else None,
            "bank_account": bank_account if show_bank else None}


def _invoice_view(draft: InvoiceDraft) -> dict[str, Any]:
    return {
        "tax_rate": rate_key(draft.tax_rate),
        "lines": [{"line_no": n, "item_name": line.item_name, "tax_rate": rate_key(line.tax_rate),
                   "amount": yuan(line.amount_fen), "net_amount": yuan(line.net_fen),
                   "tax_amount": yuan(line.tax_fen)} for n, line in enumerate(draft.lines, 1)],
        "total_amount": yuan(draft.amount_fen), "total_net_amount": yuan(draft.net_fen),
        "total_tax_amount": yuan(draft.tax_fen), "amount_in_capitals": draft.capitals,
    }


def document(p: Prepared, buyer: Buyer, settings: Settings, resolved: Resolved,
             drafts: Sequence[InvoiceDraft]) -> dict[str, Any]:
    """The preview (INV-REQ-16): exactly what will be issued."""
    total = sum(d.amount_fen for d in drafts)
    records = [{"record_id": rid, "display_id": _display_id(resolved.rows[rid]),
                "type_label": kind_label(resolved.rows[rid].kind, resolved.rows[rid].order_type),
                "product_name": resolved.rows[rid].product_name,
                "tax_rate": resolved.rows[rid].tax_rate, "amount": yuan(amount)}
               for rid, amount in resolved.lines]
    allocation: dict[str, Any] = {"legacy_amount": yuan(resolved.legacy_fen), "records": records}
    if resolved.bill_lines is not None:
        allocation["bills"] = [{"month": month, "amount": yuan(amount)}
                               for month, amount in resolved.bill_lines if amount]
    return {
        "mode": p.mode, "match_by": p.match_by if p.mode == "amount" else None,
        "invoice_type": buyer.title_type, "invoice_type_name": buyer.invoice_type_name,
        "buyer": _party(buyer.name, buyer.taxpayer_id, buyer.address, buyer.phone,
                        buyer.bank_name, buyer.bank_account, p.show_buyer_bank),
        "seller": _party(settings.seller_name, settings.seller_taxpayer_id,
                         settings.seller_address, settings.seller_phone,
                         settings.seller_bank_name, settings.seller_bank_account,
                         p.show_seller_bank),
        "invoices": [_invoice_view(d) for d in drafts],
        "total_amount": yuan(total),
        "total_net_amount": yuan(sum(d.net_fen for d in drafts)),
        "total_tax_amount": yuan(sum(d.tax_fen for d in drafts)),
        "amount_in_capitals": amount_in_capitals(total),
        "allocation": allocation,
        "remark": p.remark, "email": p.email,
        "show_buyer_bank": p.show_buyer_bank, "show_seller_bank": p.show_seller_bank,
    }


def _display_id(row: Row[Any]) -> str | None:
    if row.kind == "settlement":
        return row.period
    if row.kind in ("transfer_out", "transfer_in"):
        return row.source_id
    return row.sub_order_id


async def _buyer(session: AsyncSession, uin: str, p: Prepared) -> Buyer:
    profile = require_invoicing_allowed(await load_profile(session, uin))
    buyer = await buyer_for(session, uin, profile)
    if p.show_buyer_bank and not (buyer.bank_name and buyer.bank_account):
        raise BuyerBankInfoMissing("发票抬头未填写开户银行和银行账号，无法展示购买方银行信息；"
                                   "请先修改发票抬头",
                                   details={"field": "show_buyer_bank"})
    return buyer


# ----------------------------------------------------------------------------- operations

#: Lines a proposal lists inline (MatchInvoiceAmount). The rest are the account's invoiceable
#: records that follow, newest first, through `matched_through`: DescribeConsumptionRecords with
#: `invoiceable_only=true` and `cursor=next_records_cursor` lists them, each drawn for its whole
#: balance except `matched_through`, drawn for `matched_through.amount`.
MATCH_LINES = 500


async def match(session: AsyncSession, uin: str, total_fen: int, match_by: str) -> dict[str, Any]:
    """MatchInvoiceAmount: the proposal for a total (legacy first, then newest to oldest).

    By records, the answer is computed on the database (`ledger.match_records`) whatever the
    number of records drawn, and lists the first `MATCH_LINES` of them. Besides `lines`:

    - `line_count`: how many records the proposal draws on;
    - `by_tax_rate`: per tax rate, `line_count` and `amount` drawn from records (the legacy
      part is not in it: it is invoiced at the rate chosen when applying);
    - `matched_through`: the oldest record drawn (`record_id`, `occurred_at`, `balance`,
      `amount`), the only one that may be drawn in part; null when the legacy amount covers
      the total;
    - `next_records_cursor`: when `lines` is not everything, where the rest goes on (see
      MATCH_LINES), else null.

    ApplyInvoice with `mode: amount` and no `allocation` applies exactly this proposal under
    the ledger lock; an adjusted `allocation` still lists its lines explicitly.
    """
    if dialect_of(session) == "postgresql":
        # One snapshot for the ledger row, the buckets and the records read below.
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    require_invoicing_allowed(await load_profile(session, uin))
    state = await ledger.read_ledger(session, uin)
    answer: dict[str, Any] = {
        "total_amount": yuan(total_fen), "match_by": match_by,
        "invoiceable_amount": yuan(state.total_fen),
    }
    if match_by == "bills":
        bills = await ledger.bill_balances(session, uin)
        try:
            allocation = propose_by_amount(total_fen, state.legacy_fen,
                                           ledger.bill_candidates(bills),
                                           invoiceable_total_fen=state.total_fen)
        except AllocationError as exc:
            raise allocation_error(exc, bills=True) from None
        balances = {row.bill_month: int(row.balance_fen) for row in bills}
        answer["legacy"] = {"available": yuan(state.legacy_fen),
                            "amount": yuan(allocation.legacy_fen)}
        answer["lines"] = [{"month": month, "balance": yuan(balances[month]),
                            "amount": yuan(amount)} for month, amount in allocation.lines]
        answer["line_count"] = len(answer["lines"])
        return answer
    month_buckets = await buckets.read(session, uin) if await buckets.available(session) else []
    if not buckets.usable(month_buckets, state.records_balance_fen):
        month_buckets = []
    try:
        found = await ledger.match_records(session, state, total_fen, buckets=month_buckets)
    except AllocationError as exc:
        raise allocation_error(exc) from None
    rows = await ledger.matched_lines(session, uin, found, limit=MATCH_LINES)
    cover = found.cover
    answer["legacy"] = {"available": yuan(state.legacy_fen), "amount": yuan(found.legacy_fen)}
    cover_id = cover.record_id if cover is not None else None
    lines = []
    for row in rows:
        balance = yuan(row.balance_fen)
        lines.append({
            "record_id": row.record_id, "display_id": _display_id(row),
            "type_label": kind_label(row.kind, row.order_type),
            "product_name": row.product_name, "tax_rate": row.tax_rate,
            "occurred_at": iso(row.occurred_at), "balance": balance,
            "amount": yuan(found.cover_amount_fen) if row.record_id == cover_id else balance})
    answer["lines"] = lines
    answer["line_count"] = found.line_count
    answer["by_tax_rate"] = [{"tax_rate": rate, "line_count": count, "amount": yuan(amount)}
                             for rate, (count, amount) in found.by_rate.items()]
    answer["matched_through"] = None if cover is None else {
        "record_id": cover.record_id, "occurred_at": iso(cover.occurred_at),
        "balance": yuan(cover.balance_fen), "amount": yuan(found.cover_amount_fen)}
    answer["next_records_cursor"] = (
        encode_cursor(iso(rows[-1].occurred_at), rows[-1].record_id)
        if found.line_count > len(rows) else None)
    return answer


async def preview(session: AsyncSession, uin: str, p: Prepared,
                  settings: Settings) -> dict[str, Any]:
    """PreviewInvoice: the same computation as applying, without locks or writes."""
    buyer = await _buyer(session, uin, p)
    state = await ledger.read_ledger(session, uin)
    resolved = await resolve(session, uin, p, state, settings, lock=False)
    return document(p, buyer, settings, resolved, price(resolved, p, settings))


async def apply(session: AsyncSession, *, uin: str, sub_uin: str | None, p: Prepared,
                settings: Settings, outbox: Table, now: datetime) -> dict[str, Any]:
    """ApplyInvoice: reserve the money and record the application, in the caller's
    transaction (which the idempotency wrapper opened)."""
    buyer = await _buyer(session, uin, p)
    state = await ledger.lock_ledger(session, uin, now)
    resolved = await resolve(session, uin, p, state, settings, lock=True)
    drafts = price(resolved, p, settings)
    body = document(p, buyer, settings, resolved, drafts)
    await ledger.reserve(session, state, resolved.lines, resolved.legacy_fen, now)

    application_id = str(uuid7())
    invoice_ids = {rate_key(d.tax_rate): str(uuid7()) for d in drafts}
    for view, draft in zip(body["invoices"], drafts, strict=True):
        view["invoice_id"] = invoice_ids[rate_key(draft.tax_rate)]
        view["status"] = "applied"
    body.update(application_id=application_id, status="applied", created_at=iso(now))

    await session.execute(insert(invoice_applications).values(
        application_id=application_id, uin=uin, mode=p.mode,
        match_by=p.match_by if p.mode == "amount" else None, status="applied",
        invoice_type=buyer.title_type, total_fen=resolved.total_fen,
        legacy_fen=resolved.legacy_fen, buyer_name=buyer.name,
        buyer_taxpayer_id=buyer.taxpayer_id, email=p.email or "", remark=p.remark,
        show_buyer_bank=p.show_buyer_bank, show_seller_bank=p.show_seller_bank,
        document=json.dumps(body, ensure_ascii=False), created_by=sub_uin, created_at=now))
    if drafts:
        await session.execute(insert(invoices), [{
            "invoice_id": invoice_ids[rate_key(d.tax_rate)], "application_id": application_id,
            "uin": uin, "invoice_type": buyer.title_type, "tax_rate": rate_key(d.tax_rate),
            "amount_fen": d.amount_fen, "net_fen": d.net_fen, "tax_fen": d.tax_fen,
            "amount_in_capitals": d.capitals, "status": "applied", "created_at": now,
        } for d in drafts])
        await session.execute(insert(invoice_progress), [{
            "entry_id": str(uuid7()), "invoice_id": invoice_ids[rate_key(d.tax_rate)],
            "status": "applied", "note": "已提交开票申请", "at": now} for d in drafts])
        await session.execute(insert(invoice_lines), [{
            "invoice_id": invoice_ids[rate_key(d.tax_rate)], "line_no": n,
            "item_name": line.item_name, "tax_rate": rate_key(line.tax_rate),
            "amount_fen": line.amount_fen, "net_fen": line.net_fen, "tax_fen": line.tax_fen,
        } for d in drafts for n, line in enumerate(d.lines, 1)])
    allocations: list[dict[str, Any]] = []
    if resolved.legacy_fen:
        legacy_rate = rate_key(p.legacy_rate)
        allocations.append({"record_id": None, "amount_fen": resolved.legacy_fen,
                            "tax_rate": legacy_rate, "invoice_id": invoice_ids.get(legacy_rate)})
    for record_id, amount in resolved.lines:
        rate = resolved.rows[record_id].tax_rate
        allocations.append({"record_id": record_id, "amount_fen": amount, "tax_rate": rate,
                            "invoice_id": invoice_ids.get(rate)})
    await session.execute(insert(application_allocations), [
        {"application_id": application_id, "position": n, **row}
        for n, row in enumerate(allocations)])
    await add_events(session, outbox, [applied_event(body, uin, sub_uin, now)])
    return body


def applied_event(body: dict[str, Any], uin: str, sub_uin: str | None, now: datetime) -> Any:
    """`billing.invoice.applied.v1`, checked against its schema (applications.events)."""
    data = {key: body[key] for key in InvoiceApplied.model_fields if key in body}
    data.update(uin=uin, applied_by_sub_uin=sub_uin,
                legacy_amount=body["allocation"]["legacy_amount"],
                record_count=len(body["allocation"]["records"]))
    payload = InvoiceApplied.model_validate(data).model_dump(mode="json")
    return new_event(INVOICE_APPLIED, source=SOURCE, subject=uin, data=payload, time=now)
