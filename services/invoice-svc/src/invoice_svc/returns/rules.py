"""Invoice status machine and return (退票) rules, INV-REQ-20..26; pure functions.

Statuses (the source's 发票状态说明, plus `applied` and `revoked` for a request not yet sent to
the tax platform, which the records page can 撤销申请):

    applied ─issue_started→ issuing ─issued→ issued ─mailed (paper)→ mailed
       │                       └─issue_failed→ failed
       └─revoke→ revoked

    数电 / legacy electronic:  issued | return_rejected ─request_return→ returning
    数电, deducted, no form:   issued | return_rejected
                                   ─request_return_awaiting_form→ red_letter_pending
    legacy paper:              mailed | return_rejected ─request_paper_return→ return_pending
    return_pending ─operator_approve→ returning
    red_letter_pending ─red_form_received→ returning  (the form number arrived)
    returning ─red_form_confirmed→ returning  (01/04: the platform issues the red invoice)
    returning ─form_void→ red_letter_pending  (05-10, e.g. 超72小时未确认: raise it again)
    returning ─red_invoice_issued→ voided     (数电: the red invoice exists)
    returning ─complete_return→ voided        (legacy electronic and paper, by hand)
    return_pending | red_letter_pending | returning ─operator_reject→ return_rejected

Status values are stable (they are stored and published). Note `red_letter_pending` has 18
characters: a String(16) status column must be widened before it can hold it.

Decisions taken from the source (seeds/000, 发票状态说明 and 退换腾讯云发票):

- There is no separate "returned" end state: "已作废：发票退票成功，客户可以重新申请开票", and
  the records list shows completed 数电 returns as 已作废 with 下载红字发票. The console's
  "已退票" is a filter over voided invoices. Whether a red invoice exists is data
  (`red_invoice_number`), not a status.
- `return_pending` (退票待处理) is for paper only ("用户申请退回纸质发票，等待发票专员审核，
  1个工作日内可完成审核"). 数电 and legacy electronic returns go straight to `returning`
  (退票中): the operator completes them in 1-3 business days (数电) or on the 2nd business day
  (legacy electronic).
- A paper invoice can be returned once mailed ("已邮寄状态的纸质票可以申请退票"); an issuing
  invoice can be neither revoked nor returned; a submitted return cannot be withdrawn
  (`withdraw_return` is refused from every status). A rejected return may be submitted again.
- A void red-letter form (lapsed after 72 hours, denied, revoked) keeps the blue invoice valid and
  releases nothing (reference/einvoice.md §4.2); the return goes back to `red_letter_pending`
  ("超期后请重新发起流程") because a submitted return stands. The operator may reject it there.
- Who raises the form (INV-REQ-25, the source's FAQ table): not deducted/booked -> the seller,
  full offset, no buyer confirmation (bureau state 01); deducted or booked (数电: 已抵扣/入账,
  for any invoice type) -> the buyer enters it and we confirm (03 -> 04), then the red invoice
  is issued. Legacy general invoices need no form.
- Reasons map to the bureau's 红冲原因 by name: 退货退票 -> 销货退回; the other four (wrong type,
  tax id/bank, company renamed, amount) -> 开票有误.
- Lost invoices: the source offers the stamped stub scan for lost paper *special* invoices and a
  new download for 普通发票/数电发票; a lost paper general invoice has no file to download, so it
  gets the stub scan too (the source is silent on it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from kit.errors import FailedOperation, InvalidParameterValue, MissingParameter
from kit.money import format_yuan

from invoice_svc.common.business_days import add_business_days, business_day_range
from invoice_svc.taxplatform.interface import (
    FORM_CONFIRMED_STATES,
    FORM_PENDING_STATES,
    FORM_VOID_STATES,
    RED_REASON_NAMES,
    RedReason,
)

# --------------------------------------------------------------------------- statuses


class Status(StrEnum):
    APPLIED = "applied"
    ISSUING = "issuing"
    ISSUED = "issued"
    MAILED = "mailed"
    FAILED = "failed"
    REVOKED = "revoked"
    RETURN_PENDING = "return_pending"
    RED_LETTER_PENDING = "red_letter_pending"
    RETURNING = "returning"
    RETURN_REJECTED = "return_rejected"
    VOIDED = "voided"

    @property
    def display_name(self) -> str:
        return STATUS_NAMES[self]


STATUS_NAMES: dict[Status, str] = {
    Status.APPLIED: "已申请",
    Status.ISSUING: "开票中",
    Status.ISSUED: "已开票",
    Status.MAILED: "已邮寄",
    Status.FAILED: "开票失败",
    Status.REVOKED: "已撤销",
    Status.RETURN_PENDING: "退票待处理",
    Status.RED_LETTER_PENDING: "红字待发起",
    Status.RETURNING: "退票中",
    Status.RETURN_REJECTED: "退票驳回",
    Status.VOIDED: "已作废",
}


def status_name(status: str | Status) -> str:
    """The Chinese display name of a status value; an unknown value (e.g. a progress label
    that is not a status) is shown as is."""
    try:
        return STATUS_NAMES[Status(status)]
    except ValueError:
        return str(status)


#: No event leaves these.
TERMINAL_STATUSES = frozenset({Status.FAILED, Status.REVOKED, Status.VOIDED})

Medium = Literal["paper", "electronic", "fully_digital"]
MEDIA: tuple[str, ...] = ("paper", "electronic", "fully_digital")
MEDIUM_NAMES: dict[str, str] = {"paper": "纸质发票", "electronic": "电子发票",
                                "fully_digital": "数电发票"}

# --------------------------------------------------------------------------- transitions

S = Status


@dataclass(frozen=True, slots=True)
class Transition:
    sources: frozenset[Status]
    target: Status | None  # None: refused from every status
    name: str  # the action, in Chinese, for messages
    media: frozenset[str] = frozenset(MEDIA)


def _t(sources: set[Status], target: Status | None, name: str,
       media: tuple[str, ...] = MEDIA) -> Transition:
    return Transition(frozenset(sources), target, name, frozenset(media))


TRANSITIONS: dict[str, Transition] = {
    "issue_started": _t({S.APPLIED}, S.ISSUING, "提交开票"),
    "issued": _t({S.ISSUING}, S.ISSUED, "完成开票"),
    "issue_failed": _t({S.ISSUING}, S.FAILED, "标记开票失败"),
    "revoke": _t({S.APPLIED}, S.REVOKED, "撤销申请"),
    "mailed": _t({S.ISSUED}, S.MAILED, "邮寄发票", ("paper",)),
    "request_return": _t({S.ISSUED, S.RETURN_REJECTED}, S.RETURNING, "申请退票",
                         ("electronic", "fully_digital")),
    "request_return_awaiting_form": _t({S.ISSUED, S.RETURN_REJECTED}, S.RED_LETTER_PENDING,
                                       "申请退票", ("fully_digital",)),
    "request_paper_return": _t({S.MAILED, S.RETURN_REJECTED}, S.RETURN_PENDING, "申请退票",
                               ("paper",)),
    "operator_approve": _t({S.RETURN_PENDING}, S.RETURNING, "审核通过退票", ("paper",)),
    "operator_reject": _t({S.RETURN_PENDING, S.RED_LETTER_PENDING, S.RETURNING},
                          S.RETURN_REJECTED, "驳回退票"),
    "red_form_received": _t({S.RED_LETTER_PENDING}, S.RETURNING, "提交红字确认单号",
                            ("fully_digital",)),
    "red_form_confirmed": _t({S.RETURNING}, S.RETURNING, "确认红字确认单", ("fully_digital",)),
    "form_void": _t({S.RETURNING}, S.RED_LETTER_PENDING, "作废红字确认单",
                    ("fully_digital",)),
    "red_invoice_issued": _t({S.RETURNING}, S.VOIDED, "开具红字发票", ("fully_digital",)),
    "complete_return": _t({S.RETURNING}, S.VOIDED, "完成退票", ("electronic", "paper")),
    "withdraw_return": _t(set(), None, "撤回退票申请"),
}
EVENTS: tuple[str, ...] = tuple(TRANSITIONS)

_RETURN_EVENTS = frozenset({"request_return", "request_return_awaiting_form",
                            "request_paper_return"})


class InvoiceStatusTransitionForbidden(FailedOperation):
    code = "FailedOperation.InvoiceStatusTransitionForbidden"


class InvoiceMediumMismatch(FailedOperation):
    code = "FailedOperation.InvoiceMediumMismatch"


def _status(value: str | Status) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise ValueError(f"unknown invoice status {value!r}") from None


def _forbidden(status: Status, event: str, rule: Transition) -> InvoiceStatusTransitionForbidden:
    name = status.display_name
    gloss = f"status {status.value} does not allow {event}"
    if event == "withdraw_return":
        message = (f"退票申请一经提交无法撤回（当前状态：{name}）"
                   f" (a submitted return cannot be withdrawn; {gloss})")
    elif event == "request_paper_return" and status is Status.ISSUED:
        message = (f"纸质发票寄出后才能申请退票（当前状态：{name}）"
                   f" (a paper invoice is returned once mailed; {gloss})")
    elif status is Status.ISSUING and (event == "revoke" or event in _RETURN_EVENTS):
        message = (f"{name}的发票不能{rule.name}，请待开票完成后再操作"
                   f" (an issuing invoice cannot be revoked or returned; {gloss})")
    else:
        message = f"发票状态为“{name}”，不能{rule.name} ({gloss})"
    return InvoiceStatusTransitionForbidden(message, details={"status": status.value,
                                                              "action": event})


def transition(status: str | Status, event: str, medium: str | None = None) -> Status:
    """The status after `event`, or InvoiceStatusTransitionForbidden naming the status and the
    action. With `medium`, an action meant for another medium (mailing an electronic invoice,
    a 数电 red form on a paper invoice) is refused with InvoiceMediumMismatch. Unknown statuses,
    events or media are programming errors (ValueError)."""
    current = _status(status)
    rule = TRANSITIONS.get(event)
    if rule is None:
        raise ValueError(f"unknown invoice event {event!r}")
    if medium is not None and medium not in MEDIA:
        raise ValueError(f"unknown invoice medium {medium!r}")
    if current not in rule.sources or rule.target is None:
        raise _forbidden(current, event, rule)
    if medium is not None and medium not in rule.media:
        allowed = "、".join(MEDIUM_NAMES[m] for m in MEDIA if m in rule.media)
        raise InvoiceMediumMismatch(
            f"{MEDIUM_NAMES[medium]}不能{rule.name}，仅适用于{allowed}"
            f" ({event} does not apply to {medium} invoices)",
            details={"status": current.value, "action": event, "medium": medium})
    return rule.target


def allowed_events(status: str | Status, medium: str | None = None) -> tuple[str, ...]:
    """The events a status accepts (for a medium, when given), in table order."""
    current = _status(status)
    return tuple(event for event, rule in TRANSITIONS.items()
                 if current in rule.sources and rule.target is not None
                 and (medium is None or medium in rule.media))


def red_form_event(form_state: str) -> str | None:
    """The invoice event a bureau form state (interface.FORM_*) means for a return in
    progress: confirmed (01/04) -> `red_form_confirmed`, void (05-10) -> `form_void`, still
    pending (02/03) -> None."""
    if form_state in FORM_CONFIRMED_STATES:
        return "red_form_confirmed"
    if form_state in FORM_VOID_STATES:
        return "form_void"
    if form_state in FORM_PENDING_STATES:
        return None
    raise ValueError(f"unknown red-letter form state {form_state!r}")


# --------------------------------------------------------------------------- return requests

RETURN_REASON_NAMES: dict[str, str] = {
    "wrong_invoice_type": "发票类型错误",
    "wrong_tax_id_or_bank": "税号、开户行账号错误",
    "company_renamed": "主体工商名称变更",
    "wrong_amount": "发票金额有误",
    "goods_returned": "退货退票",
}
#: Return reason -> 红冲原因 (interface.RED_REASON_NAMES keys).
RED_REASONS: dict[str, RedReason] = {
    "wrong_invoice_type": "issue_error",
    "wrong_tax_id_or_bank": "issue_error",
    "company_renamed": "issue_error",
    "wrong_amount": "issue_error",
    "goods_returned": "sales_return",
}
DESCRIPTION_MAX_CHARS = 100
COURIER_MAX_CHARS = 50
#: 72 hours, not business hours: "发起退票红字确认单需双方在72小时内均确认操作".
FORM_CONFIRMATION_WINDOW = timedelta(hours=72)

MATERIAL_NAMES: dict[str, str] = {
    "red_form_screenshot": "电子税务局已开具的《红字发票信息确认单》截图",
    "invoice_photocopy": "发票复印件",
    "invoice_copy_original": "发票联原件",
    "deduction_copy_original": "抵扣联原件",
}
RAISED_BY_NAMES = {"seller": "销售方（我方）", "buyer": "购买方（贵司）"}

_FORM_NUMBER = re.compile(r"^[0-9A-Za-z]{8,40}$")  # format UNVERIFIED: kept loose
_TRACKING_NUMBER = re.compile(r"^[0-9A-Za-z-]{5,40}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReturnReasonInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.ReturnReason"


class ReturnDescriptionTooLong(InvalidParameterValue):
    code = "InvalidParameterValue.ReturnDescriptionTooLong"


class ReturnDescriptionInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.ReturnDescription"


class DeductedMissing(MissingParameter):
    code = "MissingParameter.Deducted"


class RedFormNumberInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.RedFormNumber"


class RedFormNumberUnexpected(InvalidParameterValue):
    code = "InvalidParameterValue.RedFormNumberNotApplicable"


class CourierCompanyMissing(MissingParameter):
    code = "MissingParameter.CourierCompany"


class TrackingNumberMissing(MissingParameter):
    code = "MissingParameter.TrackingNumber"


class CourierCompanyInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.CourierCompany"


class TrackingNumberInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.TrackingNumber"


class CourierNotApplicable(InvalidParameterValue):
    code = "InvalidParameterValue.CourierNotApplicable"


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    """What the customer sent on the 退票 form."""

    reason: str
    description: str | None = None
    deducted: bool | None = None  # 是否抵扣/入账 (数电, paper special)
    red_form_number: str | None = None  # 红字确认单号 (数电, deducted)
    courier_company: str | None = None  # paper only
    tracking_number: str | None = None  # paper only


@dataclass(frozen=True, slots=True)
class ReturnPlan:
    """What happens next for an accepted return request."""

    event: str  # the transition to apply now
    next_status: Status
    medium: str
    reason: str
    red_reason: RedReason  # 红冲原因 (interface.RED_REASON_NAMES)
    description: str | None
    deducted: bool | None
    form_required: bool  # a red-letter form (红字确认单 / 红字信息表) is needed
    form_raised_by: Literal["seller", "buyer"] | None
    red_form_number: str | None
    review_by: date | None  # paper: the clerk reviews the request by the end of this day
    complete_from: date | None  # earliest / latest completion (Shanghai dates); None while it
    complete_by: date | None  # waits for a form or for the paper materials to arrive
    materials: tuple[str, ...]  # paper: MATERIAL_NAMES keys to mail back
    courier_company: str | None
    tracking_number: str | None
    notice: str  # for the customer, Chinese

    @property
    def material_names(self) -> tuple[str, ...]:
        return tuple(MATERIAL_NAMES[m] for m in self.materials)

    @property
    def red_reason_name(self) -> str:
        return RED_REASON_NAMES[self.red_reason]


def is_special(invoice_type: str) -> bool:
    return invoice_type.endswith("_special")


def check_reason(reason: str) -> str:
    if reason not in RETURN_REASON_NAMES:
        allowed = "、".join(f"{k}（{v}）" for k, v in RETURN_REASON_NAMES.items())
        raise ReturnReasonInvalid(f"退票原因无效：{reason!r}，可选：{allowed}"
                                  " (unknown return reason)", details={"field": "reason"})
    return reason


def red_reason(reason: str) -> RedReason:
    """The 红冲原因 (interface.RedReason) for a return reason; its name is
    `interface.RED_REASON_NAMES[red_reason(reason)]`."""
    return RED_REASONS[check_reason(reason)]


def check_description(description: str | None) -> str | None:
    """Optional; at most 100 characters ("100 字以内"), trimmed; no control characters."""
    if description is None:
        return None
    text = description.strip(" \t\r\n\u3000")
    if not text:
        return None
    if len(text) > DESCRIPTION_MAX_CHARS:
        raise ReturnDescriptionTooLong(
            f"退票说明不能超过 {DESCRIPTION_MAX_CHARS} 个字，当前 {len(text)} 个"
            f" (description longer than {DESCRIPTION_MAX_CHARS} characters)",
            details={"field": "description", "length": len(text),
                     "max_length": DESCRIPTION_MAX_CHARS})
    if _CONTROL.search(text):
        raise ReturnDescriptionInvalid("退票说明含有不可见的控制字符"
                                       " (description contains control characters)",
                                       details={"field": "description"})
    return text


def check_red_form_number(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    number = value.strip()
    if not _FORM_NUMBER.match(number):
        raise RedFormNumberInvalid(f"红字确认单号格式不正确：{number!r}"
                                   " (red-letter form number: 8-40 letters or digits)",
                                   details={"field": "red_form_number"})
    return number


def form_requirement(medium: str, invoice_type: str,
                     deducted: bool | None) -> tuple[bool, Literal["seller", "buyer"] | None]:
    """Whether a red-letter form is needed and who raises it (INV-REQ-25): 数电 always needs
    one (state 01 when the seller raises it alone); legacy special invoices need a 红字信息表;
    legacy general invoices none. Deducted/booked -> the buyer raises it and we confirm;
    otherwise the seller raises it and offsets in full."""
    if medium == "fully_digital" or is_special(invoice_type):
        return True, "buyer" if deducted else "seller"
    return False, None


def paper_materials(invoice_type: str, deducted: bool | None) -> tuple[str, ...]:
    """What to mail back for a paper return (the source's 材料要求)."""
    if not is_special(invoice_type):
        return ("invoice_copy_original",)
    if deducted:
        return ("red_form_screenshot", "invoice_photocopy")
    return ("invoice_copy_original", "deduction_copy_original")


def paper_review_by(submitted_at: datetime) -> date:
    """退票待处理: the clerk reviews within 1 business day."""
    return add_business_days(submitted_at, 1)


def paper_complete_by(received_at: datetime) -> date:
    """Paper: done within 3 business days after the materials arrive."""
    return add_business_days(received_at, 3)


def electronic_complete_on(submitted_at: datetime) -> date:
    """Legacy electronic: completed by hand on the 2nd business day after the request."""
    return add_business_days(submitted_at, 2)


def fully_digital_window(received_at: datetime) -> tuple[date, date]:
    """数电: completed 1-3 business days after we receive the request (with its form)."""
    return business_day_range(received_at, 1, 3)


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def plan_return(*, status: str | Status, medium: str, invoice_type: str,
                request: ReturnRequest, submitted_at: datetime) -> ReturnPlan:
    """Validate a return request for an invoice and say what happens next (INV-REQ-22..25).
    The status check comes first (an issuing invoice cannot be returned whatever was sent)."""
    if medium not in MEDIA:
        raise ValueError(f"unknown invoice medium {medium!r}")
    _require_aware(submitted_at, "submitted_at")
    current = _status(status)
    # Refuse a forbidden status before looking at the form's fields.
    probe = {"paper": "request_paper_return", "electronic": "request_return",
             "fully_digital": "request_return"}[medium]
    transition(current, probe, medium)

    reason = check_reason(request.reason)
    description = check_description(request.description)
    form_number = check_red_form_number(request.red_form_number)
    deducted = request.deducted
    if medium != "paper" and (request.courier_company or request.tracking_number):
        raise CourierNotApplicable("仅纸质发票退票需要填写快递公司和快递单号"
                                   " (courier details apply to paper returns only)",
                                   details={"field": "courier_company"
                                            if request.courier_company else "tracking_number"})
    if medium == "fully_digital":
        return _plan_fully_digital(current, invoice_type, reason, description, deducted,
                                   form_number, submitted_at)
    if medium == "electronic":
        if form_number is not None:
            raise _unexpected_form_number()
        form_required, raised_by = form_requirement(medium, invoice_type, deducted)
        day = electronic_complete_on(submitted_at)
        return ReturnPlan(
            event="request_return", next_status=transition(current, "request_return", medium),
            medium=medium, reason=reason, red_reason=RED_REASONS[reason],
            description=description, deducted=deducted, form_required=form_required,
            form_raised_by=raised_by, red_form_number=None, review_by=None,
            complete_from=day, complete_by=day, materials=(), courier_company=None,
            tracking_number=None,
            notice=(f"电子发票需人工退票，将于{_cn(day)}（申请后第2个工作日）完成退票并释放开票"
                    "金额，释放后您可重新申请开票。"))
    return _plan_paper(current, invoice_type, reason, description, deducted, form_number,
                       request, submitted_at)


def _unexpected_form_number() -> RedFormNumberUnexpected:
    return RedFormNumberUnexpected(
        "未抵扣/入账的发票由销售方发起红字确认单，无需提供红字确认单号"
        " (a form number is only given when the buyer deducted or booked the invoice)",
        details={"field": "red_form_number"})


def _plan_fully_digital(current: Status, invoice_type: str, reason: str,
                        description: str | None, deducted: bool | None,
                        form_number: str | None, submitted_at: datetime) -> ReturnPlan:
    if deducted is None:
        raise DeductedMissing("数电发票退票请选择是否已抵扣/入账"
                              " (say whether the invoice was deducted or booked)",
                              details={"field": "deducted"})
    if not deducted and form_number is not None:
        raise _unexpected_form_number()
    _, raised_by = form_requirement("fully_digital", invoice_type, deducted)
    first: date | None
    last: date | None
    if deducted and form_number is None:
        event = "request_return_awaiting_form"
        first = last = None
        notice = ("该发票已抵扣/入账，请贵司财务在电子税务局发起红字发票信息确认单，并提供红字确认"
                  "单号；确认单需购销双方在72小时内确认，超期需重新发起。收到确认单号后我方将在"
                  "1-3个工作日内完成退票并释放开票金额。")
    elif deducted:
        event = "request_return"
        first, last = fully_digital_window(submitted_at)
        notice = (f"已收到红字确认单号 {form_number}，我方确认后将开具红字发票，预计于"
                  f"{_cn(first)}至{_cn(last)}完成退票并释放开票金额。确认单需购销双方在72小时"
                  "内确认，超期需重新发起。")
    else:
        event = "request_return"
        first, last = fully_digital_window(submitted_at)
        notice = (f"我方将发起红字确认单并全额红冲，贵司无需处理确认单；预计于{_cn(first)}至"
                  f"{_cn(last)}完成退票并释放开票金额，之后可下载对冲的红字发票。")
    return ReturnPlan(
        event=event, next_status=transition(current, event, "fully_digital"),
        medium="fully_digital", reason=reason, red_reason=RED_REASONS[reason],
        description=description, deducted=deducted, form_required=True,
        form_raised_by=raised_by, red_form_number=form_number, review_by=None,
        complete_from=first, complete_by=last, materials=(), courier_company=None,
        tracking_number=None, notice=notice)


def _plan_paper(current: Status, invoice_type: str, reason: str, description: str | None,
                deducted: bool | None, form_number: str | None, request: ReturnRequest,
                submitted_at: datetime) -> ReturnPlan:
    special = is_special(invoice_type)
    if special and deducted is None:
        raise DeductedMissing("纸质专票退票请选择是否已抵扣 (say whether it was deducted)",
                              details={"field": "deducted"})
    if form_number is not None and not (special and deducted):
        raise _unexpected_form_number()
    courier = (request.courier_company or "").strip(" \t\r\n\u3000")
    tracking = (request.tracking_number or "").strip()
    if not courier:
        raise CourierCompanyMissing("纸质发票退票请填写退票快递公司"
                                    " (courier company required)",
                                    details={"field": "courier_company"})
    if not tracking:
        raise TrackingNumberMissing("纸质发票退票请填写快递单号 (tracking number required)",
                                    details={"field": "tracking_number"})
    if len(courier) > COURIER_MAX_CHARS or _CONTROL.search(courier):
        raise CourierCompanyInvalid(f"快递公司名称不能超过 {COURIER_MAX_CHARS} 个字"
                                    " (courier company too long or invalid)",
                                    details={"field": "courier_company"})
    if not _TRACKING_NUMBER.match(tracking):
        raise TrackingNumberInvalid(f"快递单号格式不正确：{tracking!r}"
                                    " (tracking number: 5-40 letters, digits or '-')",
                                    details={"field": "tracking_number"})
    form_required, raised_by = form_requirement("paper", invoice_type, deducted)
    materials = paper_materials(invoice_type, deducted)
    review = paper_review_by(submitted_at)
    names = "、".join(MATERIAL_NAMES[m] for m in materials)
    return ReturnPlan(
        event="request_paper_return",
        next_status=transition(current, "request_paper_return", "paper"),
        medium="paper", reason=reason, red_reason=RED_REASONS[reason],
        description=description, deducted=deducted if special else None,
        form_required=form_required, form_raised_by=raised_by, red_form_number=form_number,
        review_by=review, complete_from=None, complete_by=None, materials=materials,
        courier_company=courier, tracking_number=tracking,
        notice=(f"退票申请已提交，无法撤回。发票专员将于{_cn(review)}前完成审核；请寄回：{names}"
                "（邮寄费用由您承担）。我方收到退票材料后3个工作日内完成退票并释放开票金额。"))


@dataclass(frozen=True, slots=True)
class FormAccepted:
    """A form number arrived for a return waiting in red_letter_pending."""

    event: str
    next_status: Status
    red_form_number: str
    complete_from: date
    complete_by: date


def accept_red_form_number(*, status: str | Status, red_form_number: str | None,
                           received_at: datetime) -> FormAccepted:
    """The customer (or the inbound-form poller: "系统将自动填记红字单号") supplied the form
    number of a return in red_letter_pending; the 1-3 business days start now."""
    _require_aware(received_at, "received_at")
    current = _status(status)
    target = transition(current, "red_form_received", "fully_digital")
    number = check_red_form_number(red_form_number)
    if number is None:
        raise MissingParameter("请提供红字确认单号 (red-letter form number required)",
                               code="MissingParameter.RedFormNumber",
                               details={"field": "red_form_number"})
    first, last = fully_digital_window(received_at)
    return FormAccepted("red_form_received", target, number, first, last)


# --------------------------------------------------------------------------- 72 hours


def form_deadline(created_at: datetime) -> datetime:
    """When an unconfirmed red-letter form lapses: 72 hours after it was raised (UTC)."""
    _require_aware(created_at, "created_at")
    return created_at.astimezone(UTC) + FORM_CONFIRMATION_WINDOW


def is_lapsed(created_at: datetime, now: datetime) -> bool:
    """Whether an unconfirmed form raised at `created_at` has lapsed by `now` (at exactly 72
    hours it has)."""
    _require_aware(now, "now")
    return now >= form_deadline(created_at)


# --------------------------------------------------------------------------- lost invoices


@dataclass(frozen=True, slots=True)
class LostInvoiceRemedy:
    action: Literal["download_again", "stub_scan"]
    ready_from: date | None  # stub scan: answered between these Shanghai dates
    ready_by: date | None
    ticket_fields: tuple[str, ...]  # what the ticket must state
    notice: str


def lost_invoice_remedy(medium: str, invoice_type: str,
                        requested_at: datetime) -> LostInvoiceRemedy:
    """INV-REQ-26: electronic and 数电 invoices are downloaded again from the records page; a
    lost paper invoice gets a stamped scan of the stub on request (ticket), in 5-7 business
    days."""
    if medium not in MEDIA:
        raise ValueError(f"unknown invoice medium {medium!r}")
    _require_aware(requested_at, "requested_at")
    if medium != "paper":
        return LostInvoiceRemedy(
            "download_again", None, None, (),
            "电子发票与纸质发票具有同等法律效力，请在开票记录页面找到该发票并重新下载。")
    first, last = business_day_range(requested_at, 5, 7)
    kind = "增值税专用发票" if is_special(invoice_type) else "增值税普通发票"
    return LostInvoiceRemedy(
        "stub_scan", first, last, ("原因", "发票号码", "金额"),
        f"丢失纸质{kind}：我们可提供加盖发票章的发票底联扫描件或复印件。请提交工单并写明原因、"
        f"发票号码和金额，我方将于{_cn(first)}至{_cn(last)}（5-7个工作日）内处理并回复。")


# --------------------------------------------------------------------------- balance release


@dataclass(frozen=True, slots=True)
class Release:
    """How much of an invoice's amount goes back to the invoiceable balance on an event."""

    amount_fen: int  # 0: nothing is released
    note: str

    @property
    def releases(self) -> bool:
        return self.amount_fen > 0


class RedAmountInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.RedAmount"


def balance_release(event: str, invoice_amount_fen: int, *,
                    red_amount_fen: int | None = None) -> Release:
    """reference/einvoice.md §4.2: release only when the money can no longer be invoiced
    against: the request was revoked before issuing, issuing failed, or the return completed
    (the red invoice exists for 数电: release its amount, the whole invoice unless a partial
    red says less; by hand for legacy media). Submitting a return, a pending or confirmed form
    and a void form release nothing: the blue invoice stays valid."""
    if event not in TRANSITIONS:
        raise ValueError(f"unknown invoice event {event!r}")
    if type(invoice_amount_fen) is not int or invoice_amount_fen <= 0:
        raise ValueError(f"invoice amount must be a positive number of fen, got "
                         f"{invoice_amount_fen!r}")
    if event == "revoke":
        return Release(invoice_amount_fen, "撤销申请，释放开票金额")
    if event == "issue_failed":
        return Release(invoice_amount_fen, "开票失败，释放开票金额")
    if event == "complete_return":
        return Release(invoice_amount_fen, "退票完成，发票已作废，释放开票金额")
    if event == "red_invoice_issued":
        if red_amount_fen is not None and type(red_amount_fen) is not int:
            raise ValueError(f"red amount must be fen (int), got {red_amount_fen!r}")
        amount = invoice_amount_fen if red_amount_fen is None else abs(red_amount_fen)
        if amount == 0 or amount > invoice_amount_fen:
            raise RedAmountInvalid(
                f"红字发票金额 {format_yuan(amount)} 元超出原发票金额"
                f" {format_yuan(invoice_amount_fen)} 元或为 0 (red amount out of range)",
                details={"red_amount_fen": red_amount_fen,
                         "invoice_amount_fen": invoice_amount_fen})
        return Release(amount, "红字发票已开具，释放红冲金额")
    return Release(0, "发票仍然有效，不释放开票金额")
