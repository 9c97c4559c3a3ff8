"""Invoice statuses, the transition table and return rules (INV-REQ-21..26)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from invoice_svc.returns.rules import (
    EVENTS,
    MATERIAL_NAMES,
    RED_REASONS,
    RETURN_REASON_NAMES,
    STATUS_NAMES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    CourierCompanyInvalid,
    CourierCompanyMissing,
    CourierNotApplicable,
    DeductedMissing,
    InvoiceMediumMismatch,
    InvoiceStatusTransitionForbidden,
    RedAmountInvalid,
    RedFormNumberInvalid,
    RedFormNumberUnexpected,
    ReturnDescriptionInvalid,
    ReturnDescriptionTooLong,
    ReturnReasonInvalid,
    ReturnRequest,
    Status,
    TrackingNumberInvalid,
    TrackingNumberMissing,
    accept_red_form_number,
    allowed_events,
    balance_release,
    check_description,
    form_deadline,
    form_requirement,
    is_lapsed,
    lost_invoice_remedy,
    plan_return,
    red_form_event,
    red_reason,
    status_name,
    transition,
)
from invoice_svc.taxplatform.interface import RED_REASON_NAMES
from kit.clock import SHANGHAI
from kit.errors import MissingParameter

S = Status
# Tuesday 2025-09-30, 10:00 in Shanghai: the next business days are 10-09, 10-10, 10-11 (Sat).
SUBMITTED = datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)

EXPECTED_TABLE: dict[str, tuple[set[Status], Status | None]] = {
    "issue_started": ({S.APPLIED}, S.ISSUING),
    "issued": ({S.ISSUING}, S.ISSUED),
    "issue_failed": ({S.ISSUING}, S.FAILED),
    "revoke": ({S.APPLIED}, S.REVOKED),
    "mailed": ({S.ISSUED}, S.MAILED),
    "request_return": ({S.ISSUED, S.RETURN_REJECTED}, S.RETURNING),
    "request_return_awaiting_form": ({S.ISSUED, S.RETURN_REJECTED}, S.RED_LETTER_PENDING),
    "request_paper_return": ({S.MAILED, S.RETURN_REJECTED}, S.RETURN_PENDING),
    "operator_approve": ({S.RETURN_PENDING}, S.RETURNING),
    "operator_reject": ({S.RETURN_PENDING, S.RED_LETTER_PENDING, S.RETURNING},
                        S.RETURN_REJECTED),
    "red_form_received": ({S.RED_LETTER_PENDING}, S.RETURNING),
    "red_form_confirmed": ({S.RETURNING}, S.RETURNING),
    "form_void": ({S.RETURNING}, S.RED_LETTER_PENDING),
    "red_invoice_issued": ({S.RETURNING}, S.VOIDED),
    "complete_return": ({S.RETURNING}, S.VOIDED),
    "withdraw_return": (set(), None),
}
ALLOWED = [(status, event) for event, (sources, _) in EXPECTED_TABLE.items()
           for status in sorted(sources)]
FORBIDDEN = [(status, event) for status, event in itertools.product(Status, EXPECTED_TABLE)
             if status not in EXPECTED_TABLE[event][0]]


def fd_request(**changes: object) -> ReturnRequest:
    values: dict[str, object] = {"reason": "wrong_invoice_type", "deducted": False}
    return ReturnRequest(**(values | changes))  # type: ignore[arg-type]


def paper_request(**changes: object) -> ReturnRequest:
    values: dict[str, object] = {"reason": "wrong_amount", "deducted": False,
                                 "courier_company": "顺丰速运", "tracking_number": "SF1234567890"}
    return ReturnRequest(**(values | changes))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- statuses


def test_inv_req_21_statuses_have_stable_values_and_chinese_names() -> None:
    assert {s.value: s.display_name for s in Status} == {
        "applied": "已申请", "issuing": "开票中", "issued": "已开票", "mailed": "已邮寄",
        "failed": "开票失败", "revoked": "已撤销", "return_pending": "退票待处理",
        "red_letter_pending": "红字待发起", "returning": "退票中",
        "return_rejected": "退票驳回", "voided": "已作废",
    }
    assert set(STATUS_NAMES) == set(Status)
    assert Status("red_letter_pending") is S.RED_LETTER_PENDING
    assert status_name("return_rejected") == "退票驳回"
    assert status_name(S.VOIDED) == "已作废"
    assert status_name("lease_expired") == "lease_expired"  # not a status: shown as is


def test_the_table_is_exactly_the_documented_one() -> None:
    assert set(EVENTS) == set(EXPECTED_TABLE)
    for event, (sources, target) in EXPECTED_TABLE.items():
        assert TRANSITIONS[event].sources == frozenset(sources), event
        assert TRANSITIONS[event].target == target, event


@pytest.mark.parametrize(("status", "event"), ALLOWED, ids=lambda v: str(v))
def test_every_allowed_pair_moves_to_its_target(status: Status, event: str) -> None:
    assert transition(status, event) is EXPECTED_TABLE[event][1]
    assert transition(status.value, event) is EXPECTED_TABLE[event][1]
    assert event in allowed_events(status)


@pytest.mark.parametrize(("status", "event"), FORBIDDEN, ids=lambda v: str(v))
def test_every_pair_not_in_the_table_is_refused(status: Status, event: str) -> None:
    with pytest.raises(InvoiceStatusTransitionForbidden) as caught:
        transition(status, event)
    error = caught.value
    assert error.code == "FailedOperation.InvoiceStatusTransitionForbidden"
    assert error.status == 409
    assert error.details == {"status": status.value, "action": event}
    assert status.display_name in error.message
    assert status.value in error.message and event in error.message
    assert event not in allowed_events(status)
    # Refused whatever the medium: the status check comes first.
    for medium in ("paper", "electronic", "fully_digital"):
        with pytest.raises(InvoiceStatusTransitionForbidden):
            transition(status, event, medium)


def test_the_generated_pairs_cover_the_whole_table() -> None:
    assert len(ALLOWED) + len(FORBIDDEN) == len(Status) * len(EXPECTED_TABLE)
    assert len(FORBIDDEN) > 150


def test_terminal_statuses_accept_no_event() -> None:
    assert TERMINAL_STATUSES == {S.FAILED, S.REVOKED, S.VOIDED}
    for status in Status:
        assert (allowed_events(status) == ()) == (status in TERMINAL_STATUSES), status


def test_inv_req_21_issuing_invoice_cannot_be_returned() -> None:
    for event in ("request_return", "request_return_awaiting_form", "request_paper_return"):
        with pytest.raises(InvoiceStatusTransitionForbidden, match="开票中的发票不能申请退票"):
            transition(S.ISSUING, event)


def test_inv_req_21_issuing_invoice_cannot_be_revoked_but_an_applied_one_can() -> None:
    with pytest.raises(InvoiceStatusTransitionForbidden, match="开票中的发票不能撤销申请"):
        transition(S.ISSUING, "revoke")
    assert transition(S.APPLIED, "revoke") is S.REVOKED


def test_inv_req_24_a_submitted_return_cannot_be_withdrawn() -> None:
    for status in Status:
        with pytest.raises(InvoiceStatusTransitionForbidden, match="无法撤回"):
            transition(status, "withdraw_return")


def test_inv_req_21_a_paper_invoice_is_returned_once_mailed() -> None:
    with pytest.raises(InvoiceStatusTransitionForbidden, match="纸质发票寄出后才能申请退票"):
        transition(S.ISSUED, "request_paper_return", "paper")
    assert transition(S.MAILED, "request_paper_return", "paper") is S.RETURN_PENDING


@pytest.mark.parametrize(("status", "event", "medium"), [
    (S.ISSUED, "mailed", "fully_digital"),
    (S.ISSUED, "mailed", "electronic"),
    (S.ISSUED, "request_return", "paper"),
    (S.ISSUED, "request_return_awaiting_form", "electronic"),
    (S.RETURN_PENDING, "operator_approve", "fully_digital"),
    (S.RED_LETTER_PENDING, "red_form_received", "paper"),
    (S.RETURNING, "red_form_confirmed", "electronic"),
    (S.RETURNING, "form_void", "paper"),
    (S.RETURNING, "red_invoice_issued", "paper"),
    (S.RETURNING, "complete_return", "fully_digital"),
])
def test_actions_for_another_medium_are_refused(status: Status, event: str,
                                                medium: str) -> None:
    with pytest.raises(InvoiceMediumMismatch) as caught:
        transition(status, event, medium)
    assert caught.value.code == "FailedOperation.InvoiceMediumMismatch"
    assert caught.value.details["medium"] == medium


def test_allowed_events_by_medium() -> None:
    assert allowed_events(S.ISSUED, "paper") == ("mailed",)
    assert allowed_events(S.ISSUED, "fully_digital") == ("request_return",
                                                         "request_return_awaiting_form")
    assert allowed_events(S.RETURNING, "fully_digital") == (
        "operator_reject", "red_form_confirmed", "form_void", "red_invoice_issued")
    assert allowed_events(S.RETURNING, "paper") == ("operator_reject", "complete_return")


def test_unknown_status_event_or_medium_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="status"):
        transition("returned", "complete_return")
    with pytest.raises(ValueError, match="event"):
        transition(S.ISSUED, "refund")
    with pytest.raises(ValueError, match="medium"):
        transition(S.ISSUED, "mailed", "fax")


def walk(status: Status, medium: str, *events: str) -> list[Status]:
    seen = [status]
    for event in events:
        seen.append(transition(seen[-1], event, medium))
    return seen


def test_inv_req_23_fully_digital_return_path_with_a_lapsed_form() -> None:
    assert walk(S.APPLIED, "fully_digital", "issue_started", "issued",
                "request_return_awaiting_form", "red_form_received", "form_void",
                "red_form_received", "red_form_confirmed", "red_invoice_issued") == [
        S.APPLIED, S.ISSUING, S.ISSUED, S.RED_LETTER_PENDING, S.RETURNING,
        S.RED_LETTER_PENDING, S.RETURNING, S.RETURNING, S.VOIDED]


def test_inv_req_24_paper_return_path_with_a_rejection_and_a_second_request() -> None:
    assert walk(S.ISSUED, "paper", "mailed", "request_paper_return", "operator_reject",
                "request_paper_return", "operator_approve", "complete_return") == [
        S.ISSUED, S.MAILED, S.RETURN_PENDING, S.RETURN_REJECTED, S.RETURN_PENDING,
        S.RETURNING, S.VOIDED]


def test_red_form_states_map_to_events() -> None:
    assert red_form_event("01") == "red_form_confirmed"
    assert red_form_event("04") == "red_form_confirmed"
    assert red_form_event("02") is None and red_form_event("03") is None
    for code in ("05", "06", "07", "08", "09", "10"):
        assert red_form_event(code) == "form_void"
    with pytest.raises(ValueError):
        red_form_event("11")


# --------------------------------------------------------------------------- reasons


def test_inv_req_22_return_reasons_and_their_red_letter_reasons() -> None:
    assert RETURN_REASON_NAMES == {
        "wrong_invoice_type": "发票类型错误", "wrong_tax_id_or_bank": "税号、开户行账号错误",
        "company_renamed": "主体工商名称变更", "wrong_amount": "发票金额有误",
        "goods_returned": "退货退票"}
    names = {reason: RED_REASON_NAMES[red_reason(reason)] for reason in RETURN_REASON_NAMES}
    assert names == {"wrong_invoice_type": "开票有误", "wrong_tax_id_or_bank": "开票有误",
                     "company_renamed": "开票有误", "wrong_amount": "开票有误",
                     "goods_returned": "销货退回"}
    assert set(RED_REASONS.values()) <= set(RED_REASON_NAMES)


def test_inv_req_22_unknown_reason_is_refused() -> None:
    with pytest.raises(ReturnReasonInvalid) as caught:
        plan_return(status=S.ISSUED, medium="fully_digital", invoice_type="enterprise_general",
                    request=fd_request(reason="changed_my_mind"), submitted_at=SUBMITTED)
    assert caught.value.code == "InvalidParameterValue.ReturnReason"


def test_inv_req_22_description_is_at_most_100_characters() -> None:
    assert check_description("退" * 100) == "退" * 100
    assert check_description("  抬头写错了 \n") == "抬头写错了"
    assert check_description("   ") is None
    assert check_description(None) is None
    with pytest.raises(ReturnDescriptionTooLong) as caught:
        check_description("退" * 101)
    assert caught.value.code == "InvalidParameterValue.ReturnDescriptionTooLong"
    assert caught.value.details["length"] == 101
    with pytest.raises(ReturnDescriptionInvalid):
        check_description("抬头\x00错误")
    with pytest.raises(ReturnDescriptionTooLong):
        plan_return(status=S.ISSUED, medium="fully_digital", invoice_type="enterprise_general",
                    request=fd_request(description="x" * 101), submitted_at=SUBMITTED)


def test_the_status_is_checked_before_the_form() -> None:
    with pytest.raises(InvoiceStatusTransitionForbidden):
        plan_return(status=S.ISSUING, medium="fully_digital", invoice_type="enterprise_general",
                    request=fd_request(reason="nonsense"), submitted_at=SUBMITTED)


# --------------------------------------------------------------------------- 数电


def test_inv_req_23_fully_digital_needs_the_deducted_answer() -> None:
    with pytest.raises(DeductedMissing) as caught:
        plan_return(status=S.ISSUED, medium="fully_digital", invoice_type="enterprise_general",
                    request=fd_request(deducted=None), submitted_at=SUBMITTED)
    assert caught.value.code == "MissingParameter.Deducted"


def test_inv_req_23_deducted_without_form_number_waits_in_red_letter_pending() -> None:
    plan = plan_return(status=S.ISSUED, medium="fully_digital",
                       invoice_type="enterprise_special",
                       request=fd_request(deducted=True, reason="goods_returned"),
                       submitted_at=SUBMITTED)
    assert (plan.event, plan.next_status) == ("request_return_awaiting_form",
                                              S.RED_LETTER_PENDING)
    assert (plan.form_required, plan.form_raised_by, plan.red_form_number) == (True, "buyer",
                                                                                None)
    assert (plan.complete_from, plan.complete_by) == (None, None)
    assert plan.red_reason == "sales_return" and plan.red_reason_name == "销货退回"
    assert "红字确认单号" in plan.notice and "72小时" in plan.notice


def test_inv_req_23_deducted_with_form_number_is_returning_within_1_to_3_business_days() -> None:
    plan = plan_return(status=S.ISSUED, medium="fully_digital",
                       invoice_type="enterprise_general",
                       request=fd_request(deducted=True, red_form_number=" 44031124100000012345 "),
                       submitted_at=SUBMITTED)
    assert (plan.event, plan.next_status) == ("request_return", S.RETURNING)
    assert plan.red_form_number == "44031124100000012345"
    assert plan.form_raised_by == "buyer"
    # After 2025-09-30: National Day; 10-09 is the 1st business day, Saturday 10-11 the 3rd.
    assert (plan.complete_from, plan.complete_by) == (date(2025, 10, 9), date(2025, 10, 11))
    assert "2025年10月9日至2025年10月11日" in plan.notice


def test_inv_req_25_not_deducted_seller_raises_the_form_and_offsets_in_full() -> None:
    plan = plan_return(status=S.ISSUED, medium="fully_digital",
                       invoice_type="enterprise_special", request=fd_request(),
                       submitted_at=SUBMITTED)
    assert (plan.event, plan.next_status) == ("request_return", S.RETURNING)
    assert (plan.form_required, plan.form_raised_by) == (True, "seller")
    assert plan.red_reason == "issue_error"
    assert "全额红冲" in plan.notice


def test_inv_req_25_who_raises_the_form() -> None:
    assert form_requirement("fully_digital", "enterprise_special", True) == (True, "buyer")
    assert form_requirement("fully_digital", "enterprise_special", False) == (True, "seller")
    assert form_requirement("fully_digital", "personal_general", True) == (True, "buyer")
    assert form_requirement("fully_digital", "personal_general", False) == (True, "seller")
    assert form_requirement("paper", "enterprise_special", True) == (True, "buyer")
    assert form_requirement("paper", "enterprise_special", False) == (True, "seller")
    assert form_requirement("paper", "enterprise_general", None) == (False, None)
    assert form_requirement("electronic", "personal_general", None) == (False, None)


def test_a_form_number_when_not_deducted_is_refused() -> None:
    with pytest.raises(RedFormNumberUnexpected) as caught:
        plan_return(status=S.ISSUED, medium="fully_digital", invoice_type="enterprise_general",
                    request=fd_request(red_form_number="44031124100000012345"),
                    submitted_at=SUBMITTED)
    assert caught.value.code == "InvalidParameterValue.RedFormNumberNotApplicable"


def test_a_malformed_form_number_is_refused() -> None:
    with pytest.raises(RedFormNumberInvalid):
        plan_return(status=S.ISSUED, medium="fully_digital", invoice_type="enterprise_general",
                    request=fd_request(deducted=True, red_form_number="12-34"),
                    submitted_at=SUBMITTED)


def test_courier_details_belong_to_paper_returns_only() -> None:
    with pytest.raises(CourierNotApplicable):
        plan_return(status=S.ISSUED, medium="fully_digital", invoice_type="enterprise_general",
                    request=fd_request(tracking_number="SF1234567890"), submitted_at=SUBMITTED)


def test_a_rejected_return_can_be_requested_again() -> None:
    plan = plan_return(status=S.RETURN_REJECTED, medium="fully_digital",
                       invoice_type="enterprise_general", request=fd_request(),
                       submitted_at=SUBMITTED)
    assert plan.next_status is S.RETURNING


def test_inv_req_23_the_form_number_arrives_later_and_the_clock_starts_then() -> None:
    received = datetime(2026, 2, 13, 9, 0, tzinfo=SHANGHAI)  # Friday before Spring Festival
    accepted = accept_red_form_number(status=S.RED_LETTER_PENDING,
                                      red_form_number="44031124100000012345",
                                      received_at=received)
    assert (accepted.event, accepted.next_status) == ("red_form_received", S.RETURNING)
    # Sat 02-14 (make-up), then 02-24, 02-25.
    assert (accepted.complete_from, accepted.complete_by) == (date(2026, 2, 14),
                                                              date(2026, 2, 25))
    with pytest.raises(MissingParameter) as caught:
        accept_red_form_number(status=S.RED_LETTER_PENDING, red_form_number=" ",
                               received_at=received)
    assert caught.value.code == "MissingParameter.RedFormNumber"
    with pytest.raises(InvoiceStatusTransitionForbidden):
        accept_red_form_number(status=S.RETURNING, red_form_number="44031124100000012345",
                               received_at=received)


# --------------------------------------------------------------------------- legacy media


def test_inv_req_24_legacy_electronic_completes_by_hand_on_the_2nd_business_day() -> None:
    plan = plan_return(status=S.ISSUED, medium="electronic", invoice_type="personal_general",
                       request=ReturnRequest("wrong_tax_id_or_bank", "税号错误"),
                       submitted_at=SUBMITTED)
    assert (plan.event, plan.next_status) == ("request_return", S.RETURNING)
    assert plan.complete_from == plan.complete_by == date(2025, 10, 10)
    assert (plan.form_required, plan.materials, plan.description) == (False, (), "税号错误")
    assert "第2个工作日" in plan.notice
    with pytest.raises(RedFormNumberUnexpected):
        plan_return(status=S.ISSUED, medium="electronic", invoice_type="personal_general",
                    request=ReturnRequest("wrong_amount", red_form_number="44031124100000012345"),
                    submitted_at=SUBMITTED)


@pytest.mark.parametrize(("invoice_type", "deducted", "materials", "raised_by"), [
    ("enterprise_special", True, ("red_form_screenshot", "invoice_photocopy"), "buyer"),
    ("enterprise_special", False, ("invoice_copy_original", "deduction_copy_original"),
     "seller"),
    ("enterprise_general", None, ("invoice_copy_original",), None),
    ("enterprise_general", True, ("invoice_copy_original",), None),
])
def test_inv_req_24_paper_return_materials_by_type(invoice_type: str, deducted: bool | None,
                                                   materials: tuple[str, ...],
                                                   raised_by: str | None) -> None:
    plan = plan_return(status=S.MAILED, medium="paper", invoice_type=invoice_type,
                       request=paper_request(deducted=deducted), submitted_at=SUBMITTED)
    assert (plan.event, plan.next_status) == ("request_paper_return", S.RETURN_PENDING)
    assert plan.materials == materials
    assert plan.form_raised_by == raised_by
    assert plan.review_by == date(2025, 10, 9)  # 1 business day
    assert (plan.complete_from, plan.complete_by) == (None, None)  # after receipt
    assert (plan.courier_company, plan.tracking_number) == ("顺丰速运", "SF1234567890")
    for name in plan.material_names:
        assert name in plan.notice
    assert "无法撤回" in plan.notice and "邮寄费用由您承担" in plan.notice


def test_paper_material_names() -> None:
    assert MATERIAL_NAMES["red_form_screenshot"].endswith("截图")
    assert MATERIAL_NAMES["deduction_copy_original"] == "抵扣联原件"


def test_inv_req_24_paper_return_needs_courier_and_tracking_number() -> None:
    with pytest.raises(CourierCompanyMissing) as caught:
        plan_return(status=S.MAILED, medium="paper", invoice_type="enterprise_general",
                    request=paper_request(courier_company="  "), submitted_at=SUBMITTED)
    assert caught.value.code == "MissingParameter.CourierCompany"
    with pytest.raises(TrackingNumberMissing) as caught2:
        plan_return(status=S.MAILED, medium="paper", invoice_type="enterprise_general",
                    request=paper_request(tracking_number=None), submitted_at=SUBMITTED)
    assert caught2.value.code == "MissingParameter.TrackingNumber"
    with pytest.raises(TrackingNumberInvalid):
        plan_return(status=S.MAILED, medium="paper", invoice_type="enterprise_general",
                    request=paper_request(tracking_number="顺丰123"), submitted_at=SUBMITTED)
    with pytest.raises(CourierCompanyInvalid):
        plan_return(status=S.MAILED, medium="paper", invoice_type="enterprise_general",
                    request=paper_request(courier_company="快" * 51), submitted_at=SUBMITTED)


def test_inv_req_24_paper_special_needs_the_deducted_answer() -> None:
    with pytest.raises(DeductedMissing):
        plan_return(status=S.MAILED, medium="paper", invoice_type="enterprise_special",
                    request=paper_request(deducted=None), submitted_at=SUBMITTED)


def test_inv_req_24_paper_not_yet_mailed_cannot_be_returned() -> None:
    with pytest.raises(InvoiceStatusTransitionForbidden):
        plan_return(status=S.ISSUED, medium="paper", invoice_type="enterprise_general",
                    request=paper_request(), submitted_at=SUBMITTED)


def test_plans_refuse_naive_times() -> None:
    with pytest.raises(ValueError):
        plan_return(status=S.ISSUED, medium="fully_digital", invoice_type="enterprise_general",
                    request=fd_request(), submitted_at=datetime(2025, 9, 30, 10, 0))


# --------------------------------------------------------------------------- 72 hours


def test_inv_req_23_a_form_lapses_72_hours_after_it_was_raised() -> None:
    raised = datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)
    assert form_deadline(raised) == datetime(2025, 10, 3, 2, 0, tzinfo=UTC)
    assert not is_lapsed(raised, raised + timedelta(hours=72) - timedelta(microseconds=1))
    assert is_lapsed(raised, raised + timedelta(hours=72))
    with pytest.raises(ValueError):
        is_lapsed(raised, datetime(2025, 10, 4))
    with pytest.raises(ValueError):
        form_deadline(datetime(2025, 10, 4))


@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1),
                    timezones=st.just(UTC)),
       st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)))
def test_lapse_is_exactly_72_hours_of_elapsed_time(created: datetime, elapsed: timedelta) -> None:
    assert is_lapsed(created, created + elapsed) == (elapsed >= timedelta(hours=72))
    assert is_lapsed(created.astimezone(SHANGHAI), created + elapsed) == (
        elapsed >= timedelta(hours=72))


# --------------------------------------------------------------------------- lost invoices


@pytest.mark.parametrize("medium", ["electronic", "fully_digital"])
def test_inv_req_26_lost_electronic_invoices_are_downloaded_again(medium: str) -> None:
    remedy = lost_invoice_remedy(medium, "enterprise_special", SUBMITTED)
    assert (remedy.action, remedy.ready_from, remedy.ready_by) == ("download_again", None, None)
    assert "下载" in remedy.notice


def test_inv_req_26_lost_paper_special_gets_a_stamped_stub_scan_in_5_to_7_business_days(
) -> None:
    remedy = lost_invoice_remedy("paper", "enterprise_special", SUBMITTED)
    assert remedy.action == "stub_scan"
    # After 2025-09-30: 10-09, 10-10, 10-11 (Sat), 10-13, 10-14 (5th), 10-15, 10-16 (7th).
    assert (remedy.ready_from, remedy.ready_by) == (date(2025, 10, 14), date(2025, 10, 16))
    assert remedy.ticket_fields == ("原因", "发票号码", "金额")
    assert "加盖发票章" in remedy.notice and "增值税专用发票" in remedy.notice


# --------------------------------------------------------------------------- release


def test_einvoice_4_2_release_rules() -> None:
    assert balance_release("revoke", 10000).amount_fen == 10000
    assert balance_release("issue_failed", 10000).amount_fen == 10000
    assert balance_release("complete_return", 10000).amount_fen == 10000
    assert balance_release("red_invoice_issued", 10000).amount_fen == 10000
    assert balance_release("red_invoice_issued", 10000, red_amount_fen=-2500).amount_fen == 2500
    for event in ("request_return", "request_return_awaiting_form", "red_form_received",
                  "red_form_confirmed", "form_void", "operator_reject", "issued"):
        release = balance_release(event, 10000)
        assert (release.amount_fen, release.releases) == (0, False), event


@pytest.mark.parametrize("event", EVENTS)
def test_inv_req_21_money_is_released_exactly_when_the_invoice_ends_void_revoked_or_failed(
        event: str) -> None:
    ends = TRANSITIONS[event].target in {S.VOIDED, S.REVOKED, S.FAILED}
    assert balance_release(event, 1).releases is ends


def test_red_amount_beyond_the_invoice_is_refused() -> None:
    with pytest.raises(RedAmountInvalid):
        balance_release("red_invoice_issued", 10000, red_amount_fen=-10001)
    with pytest.raises(RedAmountInvalid):
        balance_release("red_invoice_issued", 10000, red_amount_fen=0)
    with pytest.raises(ValueError):
        balance_release("revoke", 0)
    with pytest.raises(ValueError):
        balance_release("nope", 100)
