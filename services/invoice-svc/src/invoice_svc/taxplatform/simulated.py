"""A simulated 数电 tax platform, in memory, behind the provider-neutral `TaxPlatform`.

One instance is one platform. It behaves like the real one (reference/einvoice.md §2.1, §4)
so the issuing and red-letter code paths are exercised for real, with faults injectable
deterministically (`faults`).

Asynchronous work without background tasks: the platform keeps a timetable on its injected
clock. A new order is accepted as `issuing` and is due `latency` later; a pending red-letter
form is due to lapse 72 hours after it was raised; a form that became 01/04 has its red invoice
due `latency` later. Every call first settles whatever is due by the clock (in due order,
stamped with its due time), so what a caller observes is what a platform working in the
background would show, and a test moves time with `FrozenClock.advance` instead of sleeping.

Conventions worth knowing:
- `issue` is idempotent by `order_no`: the same order number with the same request answers
  the invoice already made (its current state); the same number with a different request is
  refused with E9106 (the number is taken: query it instead). A refused submission leaves
  nothing behind, so its order number stays unknown to `query`.
- Blue order numbers are `[A-Za-z0-9._-]{1,64}`. The red invoice the platform issues for a
  form gets the order number `red:<form number>` (`RED_ORDER_PREFIX`); `query` reads it like
  any other order. Red invoices are never submitted through `issue` (refused with E1009):
  for 数电 the platform issues them itself once the form is 01/04.
- Invoice numbers: yy (issue year, Asia/Shanghai) + 2-digit region + channel digit + 15-digit
  sequence. Form numbers: region + yymmdd + 12-digit sequence (20 digits too).
- Red-form lines are `(blue line index, negative net fen, negative tax fen)`, the index being
  0-based in the blue invoice's `lines`. A full red (no lines) offsets whatever is not yet
  offset or held by another live form; every form returned lists its effective lines.
- The red-able remainder of a blue invoice, per line, is the blue amount minus every form that
  is not void (pending forms hold their amount until they are confirmed, denied or lapse).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, TypeVar

from kit.clock import SHANGHAI, Clock, SystemClock
from kit.gbk import GbkError, gbk_length
from kit.money import round_half_up

from invoice_svc.documents.model import DocumentLine, InvoiceDocument
from invoice_svc.taxplatform.interface import (
    FORM_BUYER_RAISED_PENDING,
    FORM_CONFIRMED,
    FORM_NO_CONFIRMATION,
    FORM_PENDING_STATES,
    FORM_SELLER_RAISED_PENDING,
    FORM_VOID_BUYER_DENIED,
    FORM_VOID_LAPSED,
    FORM_VOID_REVOKED,
    FORM_VOID_SELLER_DENIED,
    FORM_VOID_STATES,
    RED_REASON_NAMES,
    IssuedDocuments,
    IssueRequest,
    IssueResult,
    PlatformRejected,
    PlatformUnavailable,
    RedForm,
    RedFormRequest,
)
from invoice_svc.titles.taxpayer_id import TaxpayerIdInvalid, validate_taxpayer_id

__all__ = [
    "CODES",
    "OPERATIONS",
    "RED_ORDER_PREFIX",
    "Faults",
    "OffsetClock",
    "Renderer",
    "SimulatedTaxPlatform",
    "SimulatorStats",
    "create_platform",
    "render_documents",
]

_T = TypeVar("_T")
Renderer = Callable[[InvoiceDocument], IssuedDocuments]
Operation = Literal["issue", "query", "request_red_form", "query_red_form", "confirm_red_form",
                    "reject_red_form", "revoke_red_form", "list_inbound_red_forms"]
OPERATIONS: frozenset[str] = frozenset(Operation.__args__)  # type: ignore[attr-defined]

RED_ORDER_PREFIX = "red:"
LAPSE_AFTER = timedelta(hours=72)
REMARK_MAX_GBK_BYTES = 230
SUPPORTED_RATES = frozenset(Decimal(r) for r in ("0", "0.01", "0.03", "0.05", "0.06", "0.09",
                                                 "0.13"))
LINE_TAX_TOLERANCE_FEN = 1  # |round(net × rate) − tax| per line
DOCUMENT_TAX_TOLERANCE_FEN = 127  # accumulated over a document (legacy 1.27 yuan rule)

#: What the simulator refuses with, by code (the reason in each refusal says what exactly).
CODES: dict[str, str] = {
    "E1001": "必填项缺失或格式不正确",
    "E1002": "购买方纳税人识别号缺失或不合法",
    "E1003": "发票明细不能为空",
    "E1004": "项目名称须为“*税收分类简称*名称”，税收分类编码须为 19 位数字",
    "E1005": "金额、数量或单价不正确",
    "E1006": "税率不支持",
    "E1007": "税额与金额×税率不符",
    "E1008": "备注超长或含无法开具的字符",
    "E1009": "数电红字发票由平台依据红字确认单自动开具",
    "E1010": "销方与开票主体不一致",
    "E9106": "订单编号已存在且开票内容不一致",
    "E9107": "红字确认单申请流水号已存在且内容不一致",
    "E2001": "蓝字发票不存在或尚未开具",
    "E2002": "红字发票不能再开具红字确认单",
    "E2003": "红字确认单明细不正确",
    "E2004": "超过蓝字发票剩余可红冲金额",
    "E2005": "红冲原因不正确",
    "E2010": "红字确认单不存在",
    "E2011": "红字确认单当前状态不允许该操作",
    "E0024": "签章失败",
    "E9999": "税务平台拒绝受理（模拟）",
}

_ORDER_NO = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ITEM_NAME = re.compile(r"\*[^*\s][^*]*\*[^*].*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CLASSIFICATION_CODE = re.compile(r"[0-9]{19}")

#: Province-level region codes (GB/T 2260) -> the bureau printed on the invoice.
REGIONS: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省",
    "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
}


def _reject(code: str, reason: str) -> PlatformRejected:
    return PlatformRejected(code, reason)


def render_documents(document: InvoiceDocument) -> IssuedDocuments:
    """The default renderer: our own PDF and XML renderers, imported only when first used so
    this module imports without them (and without their heavier dependencies)."""
    from invoice_svc.documents.pdf import render_invoice_pdf
    from invoice_svc.documents.xml import render_invoice_xml

    return IssuedDocuments(pdf=render_invoice_pdf(document), xml=render_invoice_xml(document))


class OffsetClock:
    """System time shifted by an offset that only moves forward: the standalone simulator's
    clock, so a test in another process can jump past the 72-hour lapse without waiting."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return self._base.now() + self.offset

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the simulator's clock only moves forward")
        self.offset += delta

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("need an aware datetime")
        self.advance(at - self.now())


# --- fault injection --------------------------------------------------------------------------


@dataclass(slots=True)
class _Fault:
    remaining: int
    on: frozenset[str] | None  # None: any operation
    code: str = "E9999"
    reason: str = CODES["E9999"]
    seconds: float = 0.0

    def applies(self, op: str) -> bool:
        return self.remaining > 0 and (self.on is None or op in self.on)


@dataclass(slots=True)
class _Predicate:
    test: Callable[[IssueRequest], bool]
    code: str
    reason: str


def _operations(on: str | Collection[str] | None) -> frozenset[str] | None:
    if on is None:
        return None
    ops = frozenset({on} if isinstance(on, str) else on)
    unknown = ops - OPERATIONS
    if unknown or not ops:
        raise ValueError(f"unknown operations {sorted(unknown)}; known: {sorted(OPERATIONS)}")
    return ops


def _count(n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return n


class Faults:
    """What goes wrong next. Counted faults apply to the next `n` calls of the operations
    named in `on` (any operation when None) and are used up in the order they were added."""

    def __init__(self) -> None:
        self._rules: dict[str, list[_Fault]] = {
            "reject": [], "unavailable": [], "lose_answer": [], "fail_async": [], "slow": []}
        self._predicates: list[_Predicate] = []

    def reject_next(self, n: int = 1, code: str = "E9999", reason: str = CODES["E9999"], *,
                    on: str | Collection[str] | None = "issue") -> None:
        """Refuse the next `n` calls with `PlatformRejected(code, reason)`. For `issue` this
        applies to new order numbers only (a known one still answers its invoice)."""
        self._rules["reject"].append(_Fault(_count(n), _operations(on), code, reason))

    def reject_when(self, predicate: Callable[[IssueRequest], bool], code: str = "E9999",
                    reason: str = CODES["E9999"]) -> Callable[[], None]:
        """Refuse every new submission the predicate accepts, until the returned function
        (or `clear`) removes the rule."""
        rule = _Predicate(predicate, code, reason)
        self._predicates.append(rule)
        return lambda: self._predicates.remove(rule) if rule in self._predicates else None

    def unavailable_next(self, n: int = 1, *, on: str | Collection[str] | None = None) -> None:
        """Raise `PlatformUnavailable` before doing anything."""
        self._rules["unavailable"].append(_Fault(_count(n), _operations(on)))

    def lose_answer_next(self, n: int = 1, *, on: str | Collection[str] | None = None) -> None:
        """Do the work, then raise `PlatformUnavailable`: the caller cannot know the outcome."""
        self._rules["lose_answer"].append(_Fault(_count(n), _operations(on)))

    def fail_async_next(self, n: int = 1, code: str = "E0024",
                        reason: str = CODES["E0024"]) -> None:
        """Accept the next `n` new orders as `issuing`; they end `failed` with this reason."""
        self._rules["fail_async"].append(_Fault(_count(n), frozenset({"issue"}), code, reason))

    def slow_next(self, n: int = 1, seconds: float = 5.0, *,
                  on: str | Collection[str] | None = None) -> None:
        """Answer only after `seconds` of real time (then do the work as usual): the caller's
        timeout fires first and it does not know whether the call landed."""
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        self._rules["slow"].append(_Fault(_count(n), _operations(on), seconds=seconds))

    def clear(self) -> None:
        for rules in self._rules.values():
            rules.clear()
        self._predicates.clear()

    def pending(self) -> dict[str, int]:
        """How many counted faults of each kind are still to fire (and predicate rules)."""
        out = {kind: sum(f.remaining for f in rules) for kind, rules in self._rules.items()}
        out["reject_when"] = len(self._predicates)
        return out

    def _take(self, kind: str, op: str) -> _Fault | None:
        for fault in self._rules[kind]:
            if fault.applies(op):
                fault.remaining -= 1
                return fault
        return None

    def _match(self, request: IssueRequest) -> _Predicate | None:
        return next((rule for rule in self._predicates if rule.test(request)), None)


# --- platform state -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Order:
    order_no: str
    request: IssueRequest | None  # None: a red invoice the platform issues for `form_number`
    accepted_at: datetime
    ready_at: datetime
    tiebreak: int
    form_number: str | None = None
    fail_with: tuple[str, str] | None = None
    state: Literal["issuing", "issued", "failed"] = "issuing"
    number: str | None = None
    issued_at: datetime | None = None
    document: InvoiceDocument | None = None
    documents: IssuedDocuments | None = None
    failure: tuple[str, str] | None = None

    def result(self) -> IssueResult:
        code, reason = self.failure or (None, None)
        return IssueResult(order_no=self.order_no, state=self.state, number=self.number,
                           issued_at=self.issued_at, documents=self.documents,
                           failure_code=code, failure_reason=reason)


@dataclass(slots=True)
class _Form:
    form_number: str
    blue_number: str
    raised_by: Literal["seller", "buyer"]
    reason: str
    lines: tuple[tuple[int, int, int], ...]  # effective: (0-based blue index, net, tax)
    created_at: datetime
    tiebreak: int
    state: str
    request: RedFormRequest | None = None
    red_order_no: str | None = None

    @property
    def amount_fen(self) -> int:
        return sum(net + tax for _, net, tax in self.lines)


@dataclass(frozen=True, slots=True)
class SimulatorStats:
    """What happened on the platform, for tests to check (e.g. exactly one invoice per order
    number however often it was retried)."""

    calls: dict[str, int]  # every call per operation, faulted ones included
    submissions: dict[str, int]  # `issue` calls that reached the platform, per order number
    rejected: int  # `issue` calls refused
    issuing: int
    issued: int  # blue invoices issued
    failed: int
    red_issued: int
    forms: dict[str, int]  # red-letter forms per state code
    numbers: dict[str, str] = field(default_factory=dict)  # order number -> invoice number


def _expected_tax(net_fen: int, rate: Decimal) -> int:
    return round_half_up(Decimal(net_fen) * rate / 100)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class SimulatedTaxPlatform:
    """An in-memory 数电 platform implementing `TaxPlatform` (module docstring: conventions)."""

    def __init__(self, clock: Clock | None = None, *, render: Renderer | None = None,
                 latency: timedelta = timedelta(seconds=1), region: str = "44",
                 channel: str = "2", seller_taxpayer_id: str | None = None,
                 first_sequence: int = 1) -> None:
        if region not in REGIONS:
            raise ValueError(f"unknown region code {region!r}")
        if not (len(channel) == 1 and channel.isdigit()):
            raise ValueError(f"channel must be one digit, got {channel!r}")
        self.clock: Clock = clock or SystemClock()
        self.render: Renderer = render or render_documents
        self.faults = Faults()
        self.region, self.channel = region, channel
        self.seller_taxpayer_id = seller_taxpayer_id
        self._latency = timedelta(0)
        self.set_latency(latency)
        self._sequence = first_sequence  # the next invoice number's sequence
        self._form_sequence = itertools.count(1)
        self._tiebreak = itertools.count()
        self._orders: dict[str, _Order] = {}
        self._issuing: dict[str, _Order] = {}
        self._by_number: dict[str, _Order] = {}
        self._issue_order: list[_Order] = []  # issued invoices in issue order
        self._forms: dict[str, _Form] = {}
        self._pending_forms: dict[str, _Form] = {}
        self._forms_by_request: dict[str, _Form] = {}
        self._calls: Counter[str] = Counter()
        self._submissions: Counter[str] = Counter()
        self._rejected = 0

    # --- configuration --------------------------------------------------------------------
    @property
    def latency(self) -> timedelta:
        return self._latency

    def set_latency(self, latency: timedelta | float) -> None:
        """How long issuing takes from now on (orders already accepted keep their time)."""
        if not isinstance(latency, timedelta):
            latency = timedelta(seconds=latency)
        if latency < timedelta(0):
            raise ValueError("latency cannot be negative")
        self._latency = latency

    # --- TaxPlatform ------------------------------------------------------------------------
    async def issue(self, request: IssueRequest) -> IssueResult:
        await self._enter("issue")
        self._submissions[request.order_no] += 1
        known = self._orders.get(request.order_no)
        if known is not None:
            if known.request != request:
                raise _reject("E9106", f"订单编号 {request.order_no} 已提交过且开票内容不一致，"
                                       "请按订单编号查询")
            return self._leave("issue", known.result())
        try:
            self._refuse_injected(request)
            self._validate(request)
        except PlatformRejected:
            self._rejected += 1
            raise
        now = self.clock.now()
        order = _Order(request.order_no, request, accepted_at=now, ready_at=now + self._latency,
                       tiebreak=next(self._tiebreak))
        failing = self.faults._take("fail_async", "issue")
        if failing is not None:
            order.fail_with = (failing.code, failing.reason)
        self._orders[order.order_no] = self._issuing[order.order_no] = order
        return self._leave("issue", order.result())

    async def query(self, order_no: str) -> IssueResult | None:
        await self._enter("query")
        order = self._orders.get(order_no)
        return self._leave("query", order.result() if order else None)

    async def request_red_form(self, request: RedFormRequest) -> RedForm:
        await self._enter("request_red_form")
        known = self._forms_by_request.get(request.request_no)
        if known is not None:
            if known.request != request:
                raise _reject("E9107", f"红字确认单申请流水号 {request.request_no} "
                                       "已使用且内容不一致")
            return self._leave("request_red_form", self._view(known))
        if not (isinstance(request.request_no, str) and request.request_no.strip()):
            raise _reject("E1001", "红字确认单申请流水号不能为空")
        state = (FORM_SELLER_RAISED_PENDING if request.buyer_deducted
                 else FORM_NO_CONFIRMATION)
        form = self._new_form(request.blue_number, request.reason, request.lines, "seller",
                              state, request)
        self._forms_by_request[request.request_no] = form
        return self._leave("request_red_form", self._view(form))

    async def query_red_form(self, form_number: str) -> RedForm | None:
        await self._enter("query_red_form")
        form = self._forms.get(form_number)
        return self._leave("query_red_form", self._view(form) if form else None)

    async def confirm_red_form(self, form_number: str) -> RedForm:
        await self._enter("confirm_red_form")
        form = self._transition(form_number, "buyer", FORM_BUYER_RAISED_PENDING,
                                FORM_CONFIRMED, "确认")
        return self._leave("confirm_red_form", self._view(form))

    async def reject_red_form(self, form_number: str) -> RedForm:
        await self._enter("reject_red_form")
        form = self._transition(form_number, "buyer", FORM_BUYER_RAISED_PENDING,
                                FORM_VOID_SELLER_DENIED, "否认")
        return self._leave("reject_red_form", self._view(form))

    async def revoke_red_form(self, form_number: str) -> RedForm:
        await self._enter("revoke_red_form")
        form = self._transition(form_number, "seller", FORM_SELLER_RAISED_PENDING,
                                FORM_VOID_REVOKED, "撤销")
        return self._leave("revoke_red_form", self._view(form))

    async def query_red_invoice(self, form_number: str) -> IssueResult | None:
        return await self.query(RED_ORDER_PREFIX + form_number)

    async def list_inbound_red_forms(self, since: datetime) -> Sequence[RedForm]:
        """Buyer-raised forms created at or after `since`, in any state, oldest first."""
        await self._enter("list_inbound_red_forms")
        forms = sorted((f for f in self._forms.values()
                        if f.raised_by == "buyer" and f.created_at >= since),
                       key=lambda f: (f.created_at, f.tiebreak))
        return self._leave("list_inbound_red_forms", [self._view(f) for f in forms])

    async def close(self) -> None:
        """Nothing to release: the platform lives as long as the object."""

    # --- the buyer's side (simulator only) -----------------------------------------------
    def buyer_raises_red_form(self, blue_number: str, *, reason: str = "sales_return",
                              lines: Sequence[tuple[int, int, int]] = ()) -> RedForm:
        """The buyer (who has deducted) raises a form against our invoice: state 03, waiting
        for us (`list_inbound_red_forms`, then confirm or reject) for 72 hours."""
        self._advance()
        form = self._new_form(blue_number, reason, tuple(lines), "buyer",
                              FORM_BUYER_RAISED_PENDING, None)
        return self._view(form)

    def buyer_confirms(self, form_number: str) -> RedForm:
        """The buyer confirms a form we raised (02 -> 04): the red invoice follows."""
        self._advance()
        return self._view(self._transition(form_number, "seller", FORM_SELLER_RAISED_PENDING,
                                           FORM_CONFIRMED, "确认"))

    def buyer_denies(self, form_number: str) -> RedForm:
        """The buyer denies a form we raised (02 -> 05)."""
        self._advance()
        return self._view(self._transition(form_number, "seller", FORM_SELLER_RAISED_PENDING,
                                           FORM_VOID_BUYER_DENIED, "否认"))

    def buyer_revokes(self, form_number: str) -> RedForm:
        """The buyer withdraws a form it raised (03 -> 08)."""
        self._advance()
        return self._view(self._transition(form_number, "buyer", FORM_BUYER_RAISED_PENDING,
                                           FORM_VOID_REVOKED, "撤销"))

    # --- inspection (simulator only) -------------------------------------------------------
    def stats(self) -> SimulatorStats:
        self._advance()
        orders = list(self._orders.values())
        blue = [o for o in orders if o.request is not None]
        return SimulatorStats(
            calls=dict(self._calls), submissions=dict(self._submissions),
            rejected=self._rejected,
            issuing=sum(o.state == "issuing" for o in blue),
            issued=sum(o.state == "issued" for o in blue),
            failed=sum(o.state == "failed" for o in blue),
            red_issued=sum(o.state == "issued" for o in orders if o.request is None),
            forms=dict(Counter(f.state for f in self._forms.values())),
            numbers={o.order_no: o.number for o in self._issue_order if o.number})

    def issued_count(self, kind: Literal["blue", "red"] | None = None) -> int:
        """Invoices the platform made (blue, red or both)."""
        self._advance()
        return sum(kind is None or (o.request is None) == (kind == "red")
                   for o in self._issue_order)

    def documents(self) -> list[InvoiceDocument]:
        """Every invoice issued, as its face, in issue order."""
        self._advance()
        return [o.document for o in self._issue_order if o.document is not None]

    def red_remaining_fen(self, blue_number: str) -> int:
        """Tax-inclusive amount of a blue invoice that a new form could still offset."""
        self._advance()
        blue = self._blue(blue_number)
        return sum(net + tax for net, tax in self._remaining(blue))

    # --- call plumbing ------------------------------------------------------------------------
    async def _enter(self, op: Operation) -> None:
        self._calls[op] += 1
        slow = self.faults._take("slow", op)
        if slow is not None:
            await asyncio.sleep(slow.seconds)
        if self.faults._take("unavailable", op) is not None:
            raise PlatformUnavailable(f"税务平台暂时不可用（模拟）：{op}")
        if op != "issue":  # issue: only new submissions can be refused (_refuse_injected)
            rejected = self.faults._take("reject", op)
            if rejected is not None:
                raise _reject(rejected.code, rejected.reason)
        self._advance()

    def _leave(self, op: Operation, value: _T) -> _T:
        if self.faults._take("lose_answer", op) is not None:
            raise PlatformUnavailable(f"税务平台应答丢失（模拟）：{op}")
        return value

    def _refuse_injected(self, request: IssueRequest) -> None:
        rejected = self.faults._take("reject", "issue")
        if rejected is not None:
            raise _reject(rejected.code, rejected.reason)
        rule = self.faults._match(request)
        if rule is not None:
            raise _reject(rule.code, rule.reason)

    # --- the timetable ------------------------------------------------------------------------
    def _advance(self) -> None:
        """Settle everything due by now, in due order: issuing orders complete, pending forms
        lapse."""
        now = self.clock.now()
        due: list[tuple[datetime, int, _Order | _Form]] = [
            (o.ready_at, o.tiebreak, o) for o in self._issuing.values() if o.ready_at <= now]
        due += [(f.created_at + LAPSE_AFTER, f.tiebreak, f) for f in self._pending_forms.values()
                if f.created_at + LAPSE_AFTER <= now]
        for at, _, item in sorted(due, key=lambda d: (d[0], d[1])):
            if isinstance(item, _Order):
                self._complete(item, at)
            else:
                self._set_state(item, FORM_VOID_LAPSED, at)

    def _complete(self, order: _Order, at: datetime) -> None:
        if order.fail_with is not None:
            order.state, order.failure = "failed", order.fail_with
        else:
            number = self._next_number(at)
            document = self._document(order, number, at)
            documents = self.render(document)  # before any change: a renderer error retries
            self._sequence += 1
            order.number, order.issued_at, order.state = number, at, "issued"
            order.document, order.documents = document, documents
            self._by_number[number] = order
            self._issue_order.append(order)
        del self._issuing[order.order_no]

    def _next_number(self, at: datetime) -> str:
        yy = at.astimezone(SHANGHAI).strftime("%y")
        return f"{yy}{self.region}{self.channel}{self._sequence:015d}"

    def _document(self, order: _Order, number: str, at: datetime) -> InvoiceDocument:
        bureau = {"tax_bureau_code": f"1{self.region}00000000",
                  "tax_bureau_name": f"国家税务总局{REGIONS[self.region]}税务局"}
        if order.request is not None:
            r = order.request
            return InvoiceDocument(number=number, issued_at=at, kind=r.kind, buyer=r.buyer,
                                   seller=r.seller, lines=r.lines, drawer=r.drawer,
                                   remark=r.remark, **bureau)
        assert order.form_number is not None
        form = self._forms[order.form_number]
        blue = self._by_number[form.blue_number].document
        assert blue is not None
        return InvoiceDocument(
            number=number, issued_at=at, kind=blue.kind, buyer=blue.buyer, seller=blue.seller,
            lines=tuple(self._red_line(blue.lines[i], net, tax) for i, net, tax in form.lines),
            drawer=blue.drawer,
            remark=(f"被红冲蓝字数电发票号码：{blue.number} "
                    f"红字发票信息确认单编号：{form.form_number}"),
            original_number=blue.number, red_form_number=form.form_number, **bureau)

    @staticmethod
    def _red_line(blue: DocumentLine, net: int, tax: int) -> DocumentLine:
        """The negative line; quantity and unit price only when the whole line is offset."""
        whole = net == -blue.net_fen and tax == -blue.tax_fen
        return replace(blue, net_fen=net, tax_fen=tax,
                       quantity=-blue.quantity if whole and blue.quantity is not None else None,
                       unit_price=blue.unit_price if whole else None)

    # --- red-letter forms ---------------------------------------------------------------------
    def _blue(self, blue_number: str) -> _Order:
        order = self._by_number.get(blue_number)
        if order is None:
            raise _reject("E2001", f"蓝字发票 {blue_number} 不存在或尚未开具")
        if order.request is None:
            raise _reject("E2002", f"{blue_number} 是红字发票，不能开具红字确认单")
        return order

    def _remaining(self, blue: _Order) -> list[list[int]]:
        """Per blue line [net, tax] not yet offset or held by a live form."""
        assert blue.request is not None
        left = [[line.net_fen, line.tax_fen] for line in blue.request.lines]
        for form in self._forms.values():
            if form.blue_number == blue.number and form.state not in FORM_VOID_STATES:
                for index, net, tax in form.lines:
                    left[index][0] += net
                    left[index][1] += tax
        return left

    def _effective_lines(self, blue: _Order, lines: Sequence[tuple[int, int, int]]
                         ) -> tuple[tuple[int, int, int], ...]:
        left = self._remaining(blue)
        if not lines:
            full = tuple((i, -net, -tax) for i, (net, tax) in enumerate(left) if net or tax)
            if not full:
                raise _reject("E2004", f"蓝字发票 {blue.number} 已无可红冲金额"
                                       "（已红冲或有未完成的红字确认单）")
            return full
        assert blue.request is not None
        seen: set[int] = set()
        for entry in lines:
            if not (isinstance(entry, tuple | list) and len(entry) == 3
                    and all(_is_int(v) for v in entry)):
                raise _reject("E2003", "红字明细应为（蓝票明细序号, 金额, 税额）整数三元组："
                                       f"{entry!r}")
            index, net, tax = entry
            if not 0 <= index < len(left) or index in seen:
                raise _reject("E2003", f"蓝票明细序号 {index} 不存在或重复")
            seen.add(index)
            if net > 0 or tax > 0 or (net == 0 and tax == 0):
                raise _reject("E2003", f"第 {index} 行红字金额与税额须为负数")
            if -net > left[index][0] or -tax > left[index][1]:
                raise _reject("E2004", f"第 {index} 行红冲金额超过剩余可红冲金额"
                                       f"（金额 {left[index][0]} 分，税额 {left[index][1]} 分）")
            clears = -net == left[index][0] and -tax == left[index][1]
            rate = blue.request.lines[index].tax_rate
            if not clears and abs(_expected_tax(net, rate) - tax) > LINE_TAX_TOLERANCE_FEN:
                raise _reject("E1007", f"第 {index} 行红字税额 {tax} 分与金额×税率不符")
        return tuple((int(i), int(n), int(t)) for i, n, t in lines)

    def _new_form(self, blue_number: str, reason: str, lines: Sequence[tuple[int, int, int]],
                  raised_by: Literal["seller", "buyer"], state: str,
                  request: RedFormRequest | None) -> _Form:
        if reason not in RED_REASON_NAMES:
            raise _reject("E2005", f"红冲原因 {reason!r} 不正确，应为 {sorted(RED_REASON_NAMES)}")
        blue = self._blue(blue_number)
        effective = self._effective_lines(blue, lines)
        now = self.clock.now()
        number = (f"{self.region}{now.astimezone(SHANGHAI):%y%m%d}"
                  f"{next(self._form_sequence):012d}")
        form = _Form(number, blue_number, raised_by, reason, effective, now,
                     next(self._tiebreak), state="", request=request)
        self._forms[number] = form
        self._set_state(form, state, now)
        return form

    def _transition(self, form_number: str, raised_by: str, source: str, target: str,
                    verb: str) -> _Form:
        """`source -> target` on a form raised by `raised_by`; repeating a transition already
        made answers the form as it is (a retry after a lost answer)."""
        form = self._forms.get(form_number)
        if form is None:
            raise _reject("E2010", f"红字确认单 {form_number} 不存在")
        if form.raised_by == raised_by and form.state == target:
            return form
        if form.raised_by != raised_by or form.state != source:
            side = "销方" if form.raised_by == "seller" else "购方"
            raise _reject("E2011", f"红字确认单 {form_number}（{side}发起）状态为 {form.state}，"
                                   f"不能{verb}")
        self._set_state(form, target, self.clock.now())
        return form

    def _set_state(self, form: _Form, state: str, at: datetime) -> None:
        form.state = state
        if state in FORM_PENDING_STATES:
            self._pending_forms[form.form_number] = form
        else:
            self._pending_forms.pop(form.form_number, None)
        if state in (FORM_NO_CONFIRMATION, FORM_CONFIRMED) and form.red_order_no is None:
            order_no = RED_ORDER_PREFIX + form.form_number
            order = _Order(order_no, None, accepted_at=at, ready_at=at + self._latency,
                           tiebreak=next(self._tiebreak), form_number=form.form_number)
            form.red_order_no = order_no
            self._orders[order_no] = self._issuing[order_no] = order

    def _view(self, form: _Form) -> RedForm:
        red = self._orders.get(form.red_order_no) if form.red_order_no else None
        return RedForm(form_number=form.form_number, blue_number=form.blue_number,
                       state=form.state, raised_by=form.raised_by,
                       reason=form.reason,  # type: ignore[arg-type]
                       amount_fen=form.amount_fen, created_at=form.created_at,
                       red_invoice_number=red.number if red else None,
                       request_no=form.request.request_no if form.request else None,
                       lines=form.lines)

    # --- what a platform checks before accepting a blue invoice -------------------------------
    def _validate(self, r: IssueRequest) -> None:
        if not (isinstance(r.order_no, str) and _ORDER_NO.fullmatch(r.order_no)):
            raise _reject("E1001", f"订单编号 {r.order_no!r} 不合法：1-64 位字母、数字、“.”“_”“-”")
        if r.original_number is not None or r.red_form_number is not None:
            raise _reject("E1009", "数电红字发票由平台在红字确认单无需确认或双方确认后自动开具，"
                                   "请勿通过开票接口提交")
        if r.kind not in ("special", "general"):
            raise _reject("E1001", f"发票种类 {r.kind!r} 不正确")
        for who, party in (("购买方", r.buyer), ("销售方", r.seller)):
            if not (party.name or "").strip():
                raise _reject("E1001", f"{who}名称不能为空")
        if not (r.drawer or "").strip():
            raise _reject("E1001", "开票人不能为空")
        if not r.seller.taxpayer_id:
            raise _reject("E1001", "销售方纳税人识别号不能为空")
        if self.seller_taxpayer_id and r.seller.taxpayer_id != self.seller_taxpayer_id:
            raise _reject("E1010", f"销售方纳税人识别号 {r.seller.taxpayer_id} 与开票主体不一致")
        if r.kind == "special" and not r.buyer.taxpayer_id:
            raise _reject("E1002", "开具增值税专用发票须填写购买方纳税人识别号")
        if r.buyer.taxpayer_id:
            try:
                validate_taxpayer_id(r.buyer.taxpayer_id)
            except TaxpayerIdInvalid as exc:
                raise _reject("E1002", f"购买方纳税人识别号不合法：{exc.message}") from None
        if r.buyer_email is not None and not _EMAIL.fullmatch(r.buyer_email):
            raise _reject("E1001", f"购买方邮箱 {r.buyer_email!r} 格式不正确")
        try:
            if gbk_length(r.remark) > REMARK_MAX_GBK_BYTES:
                raise _reject("E1008", f"备注超过 {REMARK_MAX_GBK_BYTES} 字节（GBK）")
        except GbkError as exc:
            raise _reject("E1008", f"备注含无法开具的字符：{exc.message}") from None
        self._validate_lines(r.lines)

    @staticmethod
    def _validate_lines(lines: Sequence[DocumentLine]) -> None:
        if not lines:
            raise _reject("E1003", "发票明细不能为空")
        drift = 0
        for n, line in enumerate(lines, 1):
            if not _ITEM_NAME.fullmatch(line.item_name or ""):
                raise _reject("E1004", f"第 {n} 行项目名称 {line.item_name!r} "
                                       "须为“*税收分类简称*名称”")
            code = line.tax_classification_code
            if code is not None and not _CLASSIFICATION_CODE.fullmatch(code):
                raise _reject("E1004", f"第 {n} 行税收分类编码 {code!r} 须为 19 位数字")
            if not (_is_int(line.net_fen) and _is_int(line.tax_fen)):
                raise _reject("E1005", f"第 {n} 行金额与税额须为整数（分）")
            if line.net_fen <= 0 or line.tax_fen < 0:
                raise _reject("E1005", f"第 {n} 行蓝字发票金额须为正数、税额不能为负数")
            if line.tax_rate not in SUPPORTED_RATES:
                raise _reject("E1006", f"第 {n} 行税率 {line.tax_rate} 不支持")
            off = abs(_expected_tax(line.net_fen, line.tax_rate) - line.tax_fen)
            if off > LINE_TAX_TOLERANCE_FEN:
                raise _reject("E1007", f"第 {n} 行税额 {line.tax_fen} 分与金额×税率"
                                       f"（{_expected_tax(line.net_fen, line.tax_rate)} 分）不符")
            drift += off
            if line.quantity is not None and line.unit_price is not None:
                if abs(round_half_up(line.quantity * line.unit_price) - line.net_fen) > 1:
                    raise _reject("E1005", f"第 {n} 行单价×数量与金额不符")
        if drift > DOCUMENT_TAX_TOLERANCE_FEN:
            raise _reject("E1007", "税额累计误差超过 1.27 元")


def create_platform(*, clock: Clock) -> SimulatedTaxPlatform:
    """A `module:factory` entry point (`invoice_svc.taxplatform.simulated:create_platform`),
    the same shape a real provider's adapter offers to `build_tax_platform`."""
    return SimulatedTaxPlatform(clock)
