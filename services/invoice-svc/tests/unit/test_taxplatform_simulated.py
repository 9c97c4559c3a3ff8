"""The simulated tax platform, directly: asynchronous issuing on the injected clock (INV-REQ-17),
idempotency and injected faults, number format, and red-letter forms (INV-REQ-23, INV-REQ-25)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from invoice_svc.documents.model import DocumentLine, InvoiceDocument, Party
from invoice_svc.taxplatform.interface import (
    FORM_BUYER_RAISED_PENDING,
    FORM_CONFIRMED,
    FORM_NO_CONFIRMATION,
    FORM_SELLER_RAISED_PENDING,
    FORM_VOID_BUYER_DENIED,
    FORM_VOID_LAPSED,
    FORM_VOID_REVOKED,
    FORM_VOID_SELLER_DENIED,
    IssuedDocuments,
    IssueRequest,
    PlatformRejected,
    PlatformUnavailable,
    RedFormRequest,
    TaxPlatform,
)
from invoice_svc.taxplatform.simulated import (
    RED_ORDER_PREFIX,
    OffsetClock,
    SimulatedTaxPlatform,
)
from kit.clock import FrozenClock

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
LATENCY = timedelta(seconds=5)
SELLER = Party(name="深圳市腾讯计算机系统有限公司", taxpayer_id="91440300708461136T")
BUYER = Party(name="北京示例科技有限公司", taxpayer_id="91110000100000000R")
RATE = Decimal("0.06")
LINES = (
    DocumentLine("*信息技术服务*云服务器", 100000, RATE, 6000),
    DocumentLine("*信息技术服务*云硬盘", 20000, RATE, 1200),
)
BLUE_TOTAL = 127200


def stand_in_render(document: InvoiceDocument) -> IssuedDocuments:
    """Small documents that still say which invoice they are."""
    face = f"{document.number}|{document.amount_fen}|{document.original_number}"
    return IssuedDocuments(pdf=b"%PDF-stand-in " + face.encode(),
                           xml=f"<EInvoice>{face}</EInvoice>".encode())


def request(order_no: str = "A1", /, **changes: object) -> IssueRequest:
    base = IssueRequest(order_no=order_no, kind="general", buyer=BUYER, seller=SELLER,
                        lines=LINES, drawer="系统开票")
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def platform(clock: FrozenClock) -> SimulatedTaxPlatform:
    return SimulatedTaxPlatform(clock, render=stand_in_render, latency=LATENCY)


async def issued(platform: SimulatedTaxPlatform, clock: FrozenClock,
                 order_no: str = "A1", **changes: object) -> str:
    """Issue a blue invoice and let the platform finish it; returns its number."""
    await platform.issue(request(order_no, **changes))
    clock.advance(LATENCY)
    result = await platform.query(order_no)
    assert result is not None and result.state == "issued" and result.number
    return result.number


def red_request(blue: str, request_no: str = "R1", *, deducted: bool = False,
                lines: tuple[tuple[int, int, int], ...] = ()) -> RedFormRequest:
    return RedFormRequest(request_no=request_no, blue_number=blue, reason="sales_return",
                          buyer_deducted=deducted, lines=lines)


def test_it_is_a_tax_platform(platform: SimulatedTaxPlatform) -> None:
    assert isinstance(platform, TaxPlatform)


# --- issuing (INV-REQ-17) ------------------------------------------------------------------------


async def test_inv_req_17_issue_answers_issuing_then_issued_once_latency_passed(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    first = await platform.issue(request("A1"))
    assert (first.state, first.number, first.documents) == ("issuing", None, None)

    clock.advance(LATENCY - timedelta(milliseconds=1))
    still = await platform.query("A1")
    assert still is not None and still.state == "issuing" and still.number is None

    clock.advance(timedelta(milliseconds=1))
    done = await platform.query("A1")
    assert done is not None and done.state == "issued"
    assert done.issued_at == START + LATENCY  # stamped when it was due, not when asked
    assert done.documents == stand_in_render(platform.documents()[0])
    assert done.documents.pdf.startswith(b"%PDF-stand-in " + done.number.encode())
    assert (done.failure_code, done.failure_reason) == (None, None)


async def test_inv_req_17_async_failure_ends_failed_with_the_reason(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    platform.faults.fail_async_next(1, "E0024", "签章失败：证书过期")
    accepted = await platform.issue(request("A1"))
    assert accepted.state == "issuing"
    clock.advance(LATENCY)
    failed = await platform.query("A1")
    assert failed is not None
    assert (failed.state, failed.failure_code, failed.failure_reason) == (
        "failed", "E0024", "签章失败：证书过期")
    assert failed.number is None and failed.documents is None
    # the fault was used up: the next order is issued
    assert await issued(platform, clock, "A2")
    assert platform.issued_count() == 1 and platform.stats().failed == 1


async def test_latency_change_applies_to_orders_accepted_afterwards(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    await platform.issue(request("slow"))
    platform.set_latency(0)
    quick = await platform.issue(request("quick"))
    assert quick.state == "issuing"  # accepted first, even with no latency
    assert (await platform.query("quick")).state == "issued"  # type: ignore[union-attr]
    assert (await platform.query("slow")).state == "issuing"  # type: ignore[union-attr]


# --- idempotency and faults ----------------------------------------------------------------------


async def test_issue_is_idempotent_by_order_no(platform: SimulatedTaxPlatform,
                                               clock: FrozenClock) -> None:
    number = await issued(platform, clock, "A1")
    again = await platform.issue(request("A1"))
    assert (again.state, again.number) == ("issued", number)
    assert platform.issued_count() == 1
    assert platform.stats().submissions == {"A1": 2}


async def test_a_different_request_under_a_known_order_no_is_refused(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    await platform.issue(request("A1"))
    with pytest.raises(PlatformRejected) as refused:
        await platform.issue(request("A1", remark="不同的备注"))
    assert refused.value.code == "E9106" and "订单编号 A1" in refused.value.reason
    clock.advance(LATENCY)
    assert platform.issued_count() == 1


async def test_lost_answer_then_retry_with_same_order_no_finds_the_one_invoice(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    platform.faults.lose_answer_next(1, on="issue")
    with pytest.raises(PlatformUnavailable):
        await platform.issue(request("A1"))
    known = await platform.query("A1")  # the caller asks first, as the interface says
    assert known is not None and known.state == "issuing"
    retried = await platform.issue(request("A1"))
    assert retried.order_no == "A1" and retried.state == "issuing"
    clock.advance(LATENCY)
    assert (await platform.query("A1")).state == "issued"  # type: ignore[union-attr]
    stats = platform.stats()
    assert stats.submissions == {"A1": 2} and stats.issued == 1
    assert platform.issued_count() == 1 and list(stats.numbers) == ["A1"]


async def test_unavailable_does_nothing_and_can_target_one_operation(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    platform.faults.unavailable_next(1, on="query")
    accepted = await platform.issue(request("A1"))  # not a query: unaffected
    assert accepted.state == "issuing"
    with pytest.raises(PlatformUnavailable):
        await platform.query("A1")
    platform.faults.unavailable_next(2)
    for _ in range(2):
        with pytest.raises(PlatformUnavailable):
            await platform.issue(request("A2"))
    assert await platform.query("A2") is None  # never reached the platform
    assert platform.stats().calls == {"issue": 3, "query": 2}
    assert platform.faults.pending()["unavailable"] == 0


async def test_rejections_carry_code_and_reason_and_leave_nothing_behind(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    platform.faults.reject_next(1, "E3001", "开票额度不足")
    with pytest.raises(PlatformRejected) as first:
        await platform.issue(request("A1"))
    assert (first.value.code, first.value.reason) == ("E3001", "开票额度不足")
    assert await platform.query("A1") is None

    remove = platform.faults.reject_when(lambda r: r.buyer.name == "黑名单公司", "E3002",
                                         "购买方状态异常")
    with pytest.raises(PlatformRejected) as second:
        await platform.issue(request("A2", buyer=Party(name="黑名单公司")))
    assert second.value.code == "E3002"
    assert (await platform.issue(request("A3"))).state == "issuing"  # predicate false
    remove()
    accepted = await platform.issue(request("A2", buyer=Party(name="黑名单公司")))
    assert accepted.state == "issuing"
    assert platform.stats().rejected == 2


async def test_an_injected_rejection_spares_a_known_order_no(
        platform: SimulatedTaxPlatform) -> None:
    await platform.issue(request("A1"))
    platform.faults.reject_next(1)
    assert (await platform.issue(request("A1"))).state == "issuing"
    with pytest.raises(PlatformRejected):
        await platform.issue(request("A2"))


async def test_slow_answer_outlasts_a_caller_timeout(platform: SimulatedTaxPlatform) -> None:
    platform.faults.slow_next(1, seconds=5, on="query")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(platform.query("A1"), timeout=0.05)
    assert platform.faults.pending()["slow"] == 0
    assert await platform.query("A1") is None  # used up: answers at once again


def test_fault_parameters_are_checked(platform: SimulatedTaxPlatform) -> None:
    with pytest.raises(ValueError, match="unknown operations"):
        platform.faults.unavailable_next(1, on="issu")
    with pytest.raises(ValueError, match="positive"):
        platform.faults.lose_answer_next(0)


@pytest.mark.parametrize(("changes", "code", "fragment"), [
    ({"lines": ()}, "E1003", "明细不能为空"),
    ({"kind": "special", "buyer": Party(name="北京示例科技有限公司")}, "E1002", "专用发票"),
    ({"buyer": Party(name="某公司", taxpayer_id="91110000100000000A")}, "E1002", "校验位"),
    ({"buyer": Party(name="  ")}, "E1001", "购买方名称"),
    ({"seller": Party(name="卖方")}, "E1001", "销售方纳税人识别号"),
    ({"drawer": ""}, "E1001", "开票人"),
    ({"order_no": "red:1"}, "E1001", "订单编号"),
    ({"buyer_email": "not-an-email"}, "E1001", "邮箱"),
    ({"remark": "好" * 116}, "E1008", "230"),
    ({"remark": "价格 ¥100"}, "E1008", "U+00A5"),
    ({"original_number": "26442000000000000001", "red_form_number": "1"}, "E1009", "自动开具"),
    ({"lines": (DocumentLine("云服务器", 100, RATE, 6),)}, "E1004", "税收分类简称"),
    ({"lines": (DocumentLine("*信息技术服务*云", 100, RATE, 6, tax_classification_code="30402"),)},
     "E1004", "19 位"),
    ({"lines": (DocumentLine("*信息技术服务*云", -100, RATE, -6),)}, "E1005", "正数"),
    ({"lines": (DocumentLine("*信息技术服务*云", 100, Decimal("0.07"), 7),)}, "E1006", "0.07"),
    ({"lines": (DocumentLine("*信息技术服务*云", 10000, RATE, 602),)}, "E1007", "600 分"),
    ({"lines": (DocumentLine("*信息技术服务*云", 10000, RATE, 600, quantity=Decimal(3),
                             unit_price=Decimal("33")),)}, "E1005", "单价×数量"),
])
async def test_requests_a_platform_would_refuse(platform: SimulatedTaxPlatform,
                                                changes: dict[str, object], code: str,
                                                fragment: str) -> None:
    with pytest.raises(PlatformRejected) as refused:
        await platform.issue(request("A1", **changes))
    assert refused.value.code == code
    assert fragment in refused.value.reason


async def test_tax_within_one_fen_and_a_special_invoice_with_buyer_id_are_accepted(
        platform: SimulatedTaxPlatform) -> None:
    lines = (DocumentLine("*信息技术服务*云", 10000, RATE, 601, quantity=Decimal(3),
                          unit_price=Decimal("33.3333")),)
    assert (await platform.issue(request("A1", kind="special", lines=lines))).state == "issuing"


async def test_the_seller_must_be_the_platforms_taxpayer(clock: FrozenClock) -> None:
    platform = SimulatedTaxPlatform(clock, render=stand_in_render,
                                    seller_taxpayer_id="91310000MA1FL0000N")
    with pytest.raises(PlatformRejected) as refused:
        await platform.issue(request("A1"))
    assert refused.value.code == "E1010"


# --- numbers -------------------------------------------------------------------------------------


async def test_numbers_are_20_digits_unique_year_region_channel(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    for n in range(30):
        await platform.issue(request(f"A{n}"))
    clock.advance(LATENCY)
    numbers = [(await platform.query(f"A{n}")).number for n in range(30)]  # type: ignore[union-attr]
    assert all(re.fullmatch(r"26442\d{15}", str(number)) for number in numbers), numbers
    assert len(set(numbers)) == 30
    assert numbers == sorted(numbers)  # issued in acceptance order


async def test_the_year_is_the_shanghai_year_and_region_channel_are_configurable() -> None:
    clock = FrozenClock(datetime(2025, 12, 31, 16, 30, tzinfo=UTC))  # 2026-01-01 00:30 +08
    platform = SimulatedTaxPlatform(clock, render=stand_in_render, latency=timedelta(0),
                                    region="11", channel="0", first_sequence=135114086)
    await platform.issue(request("A1"))
    result = await platform.query("A1")
    assert result is not None and result.number == "26110000000135114086"
    assert platform.documents()[0].tax_bureau_name == "国家税务总局北京市税务局"
    with pytest.raises(ValueError):
        SimulatedTaxPlatform(clock, region="99")


# --- red-letter forms (INV-REQ-23, INV-REQ-25) ---------------------------------------------------


async def test_inv_req_25_not_deducted_seller_offsets_in_full_without_confirmation(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    blue = await issued(platform, clock)
    form = await platform.request_red_form(red_request(blue, deducted=False))
    assert form.state == FORM_NO_CONFIRMATION and form.raised_by == "seller"
    assert form.amount_fen == -BLUE_TOTAL and form.request_no == "R1"
    assert form.lines == ((0, -100000, -6000), (1, -20000, -1200))
    assert re.fullmatch(r"\d{20}", form.form_number)
    assert form.red_invoice_number is None  # the platform is still issuing it

    red_order = RED_ORDER_PREFIX + form.form_number
    assert (await platform.query(red_order)).state == "issuing"  # type: ignore[union-attr]
    clock.advance(LATENCY)
    form = await platform.query_red_form(form.form_number)  # type: ignore[assignment]
    assert form is not None and form.red_invoice_number is not None
    red = await platform.query(red_order)
    assert red is not None and red.state == "issued" and red.number == form.red_invoice_number
    assert re.fullmatch(r"\d{20}", red.number) and red.number != blue
    document = platform.documents()[-1]
    assert (document.number, document.original_number, document.red_form_number) == (
        red.number, blue, form.form_number)
    assert document.amount_fen == -BLUE_TOTAL and document.is_red
    assert all(line.net_fen < 0 and line.tax_fen < 0 for line in document.lines)
    assert f"被红冲蓝字数电发票号码：{blue}" in document.remark
    assert red.documents == stand_in_render(document)
    assert platform.red_remaining_fen(blue) == 0
    assert platform.issued_count("red") == 1 and platform.issued_count() == 2


async def test_inv_req_25_deducted_the_buyer_confirms_then_a_negative_invoice(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    blue = await issued(platform, clock)
    form = await platform.request_red_form(red_request(blue, deducted=True))
    assert form.state == FORM_SELLER_RAISED_PENDING
    clock.advance(timedelta(hours=10))
    assert await platform.query(RED_ORDER_PREFIX + form.form_number) is None  # nothing yet
    assert (await platform.query_red_form(form.form_number)).red_invoice_number is None  # type: ignore[union-attr]

    confirmed = platform.buyer_confirms(form.form_number)
    assert confirmed.state == FORM_CONFIRMED
    clock.advance(LATENCY)
    done = await platform.query_red_form(form.form_number)
    assert done is not None and done.state == FORM_CONFIRMED and done.red_invoice_number
    red = await platform.query(RED_ORDER_PREFIX + form.form_number)
    assert red is not None and red.number == done.red_invoice_number
    assert platform.documents()[-1].amount_fen == -BLUE_TOTAL


async def test_inv_req_23_a_pending_form_lapses_after_72_hours_and_releases_its_amount(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    blue = await issued(platform, clock)
    form = await platform.request_red_form(red_request(blue, deducted=True))
    assert platform.red_remaining_fen(blue) == 0  # held while pending
    clock.advance(timedelta(hours=72) - timedelta(seconds=1))
    pending = await platform.query_red_form(form.form_number)
    assert pending is not None and pending.state == FORM_SELLER_RAISED_PENDING
    clock.advance(timedelta(seconds=1))
    lapsed = await platform.query_red_form(form.form_number)
    assert lapsed is not None and lapsed.state == FORM_VOID_LAPSED
    assert lapsed.red_invoice_number is None
    with pytest.raises(PlatformRejected) as late:
        platform.buyer_confirms(form.form_number)
    assert late.value.code == "E2011"
    assert platform.red_remaining_fen(blue) == BLUE_TOTAL
    assert platform.issued_count("red") == 0


async def test_inv_req_23_the_buyer_may_deny_our_form(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    blue = await issued(platform, clock)
    form = await platform.request_red_form(red_request(blue, deducted=True))
    assert platform.buyer_denies(form.form_number).state == FORM_VOID_BUYER_DENIED
    assert platform.red_remaining_fen(blue) == BLUE_TOTAL
    clock.advance(timedelta(hours=80))
    assert (await platform.query_red_form(form.form_number)).state == FORM_VOID_BUYER_DENIED  # type: ignore[union-attr]


async def test_we_revoke_a_pending_form_but_not_a_confirmed_one(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    blue = await issued(platform, clock)
    pending = await platform.request_red_form(red_request(blue, "R1", deducted=True,
                                                          lines=((0, -1000, -60),)))
    revoked = await platform.revoke_red_form(pending.form_number)
    assert revoked.state == FORM_VOID_REVOKED
    again = await platform.revoke_red_form(pending.form_number)  # a retry: same answer
    assert again.state == FORM_VOID_REVOKED
    direct = await platform.request_red_form(red_request(blue, "R2"))
    with pytest.raises(PlatformRejected) as refused:
        await platform.revoke_red_form(direct.form_number)
    assert refused.value.code == "E2011" and "01" in refused.value.reason
    with pytest.raises(PlatformRejected) as unknown:
        await platform.revoke_red_form("44000000000000000000")
    assert unknown.value.code == "E2010"


async def test_request_red_form_is_idempotent_by_request_no(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    blue = await issued(platform, clock)
    platform.faults.lose_answer_next(1, on="request_red_form")
    with pytest.raises(PlatformUnavailable):
        await platform.request_red_form(red_request(blue, "R1"))
    form = await platform.request_red_form(red_request(blue, "R1"))
    assert form.state == FORM_NO_CONFIRMATION
    assert platform.stats().forms == {FORM_NO_CONFIRMATION: 1}
    with pytest.raises(PlatformRejected) as changed:
        await platform.request_red_form(red_request(blue, "R1", deducted=True))
    assert changed.value.code == "E9107"


async def test_partial_reds_are_capped_by_what_remains(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    blue = await issued(platform, clock)
    first = await platform.request_red_form(red_request(blue, "R1", lines=((0, -40000, -2400),)))
    assert first.amount_fen == -42400 and first.lines == ((0, -40000, -2400),)
    assert platform.red_remaining_fen(blue) == BLUE_TOTAL - 42400
    with pytest.raises(PlatformRejected) as beyond:
        await platform.request_red_form(red_request(blue, "R2", lines=((0, -60001, -3600),)))
    assert beyond.value.code == "E2004" and "剩余" in beyond.value.reason

    clock.advance(LATENCY)
    red = platform.documents()[-1]
    assert red.is_red and [(x.net_fen, x.tax_fen) for x in red.lines] == [(-40000, -2400)]
    assert red.lines[0].item_name == LINES[0].item_name

    rest = await platform.request_red_form(red_request(blue, "R3"))  # full: what is left
    assert rest.lines == ((0, -60000, -3600), (1, -20000, -1200))
    assert rest.amount_fen == -(BLUE_TOTAL - 42400)
    with pytest.raises(PlatformRejected) as nothing_left:
        await platform.request_red_form(red_request(blue, "R4"))
    assert nothing_left.value.code == "E2004"
    clock.advance(LATENCY)
    assert sum(d.amount_fen for d in platform.documents()) == 0


@pytest.mark.parametrize(("lines", "code"), [
    (((2, -100, -6),), "E2003"),  # no such line
    (((0, -100, -6), (0, -100, -6)), "E2003"),  # the same line twice
    (((0, 100, 6),), "E2003"),  # positive
    (((0, 0, 0),), "E2003"),
    (((0, -10000, -100),), "E1007"),  # tax does not fit the rate
    (((1, -20001, -1200),), "E2004"),
])
async def test_partial_red_lines_a_platform_would_refuse(
        platform: SimulatedTaxPlatform, clock: FrozenClock,
        lines: tuple[tuple[int, int, int], ...], code: str) -> None:
    blue = await issued(platform, clock)
    with pytest.raises(PlatformRejected) as refused:
        await platform.request_red_form(red_request(blue, lines=lines))
    assert refused.value.code == code


async def test_forms_only_against_issued_blue_invoices_and_known_reasons(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    with pytest.raises(PlatformRejected) as unknown:
        await platform.request_red_form(red_request("26442000000000009999"))
    assert unknown.value.code == "E2001"
    blue = await issued(platform, clock)
    with pytest.raises(PlatformRejected) as reason:
        await platform.request_red_form(replace(red_request(blue), reason="whim"))  # type: ignore[arg-type]
    assert reason.value.code == "E2005"
    form = await platform.request_red_form(red_request(blue))
    clock.advance(LATENCY)
    red = (await platform.query_red_form(form.form_number)).red_invoice_number  # type: ignore[union-attr]
    with pytest.raises(PlatformRejected) as red_of_red:
        await platform.request_red_form(red_request(str(red), "R2"))
    assert red_of_red.value.code == "E2002"


async def test_buyer_raised_forms_are_listed_since_and_we_confirm_or_reject(
        platform: SimulatedTaxPlatform, clock: FrozenClock) -> None:
    first_blue = await issued(platform, clock, "A1")
    second_blue = await issued(platform, clock, "A2")
    ours = await platform.request_red_form(red_request(first_blue, deducted=True,
                                                       lines=((1, -1000, -60),)))
    early = platform.buyer_raises_red_form(first_blue, lines=((0, -10000, -600),))
    assert early.state == FORM_BUYER_RAISED_PENDING and early.raised_by == "buyer"
    assert early.request_no is None
    clock.advance(timedelta(hours=1))
    since = clock.now()
    late = platform.buyer_raises_red_form(second_blue, reason="sales_discount")

    listed = await platform.list_inbound_red_forms(since)
    assert [f.form_number for f in listed] == [late.form_number]
    everything = await platform.list_inbound_red_forms(START)
    assert [f.form_number for f in everything] == [early.form_number, late.form_number]
    assert ours.form_number not in {f.form_number for f in everything}

    assert (await platform.confirm_red_form(early.form_number)).state == FORM_CONFIRMED
    assert (await platform.reject_red_form(late.form_number)).state == FORM_VOID_SELLER_DENIED
    with pytest.raises(PlatformRejected) as not_theirs:
        await platform.confirm_red_form(ours.form_number)  # ours waits for the buyer
    assert not_theirs.value.code == "E2011"
    clock.advance(LATENCY)
    confirmed = await platform.query_red_form(early.form_number)
    assert confirmed is not None and confirmed.red_invoice_number
    assert platform.documents()[-1].amount_fen == -10600
    assert platform.red_remaining_fen(second_blue) == BLUE_TOTAL


async def test_a_buyer_raised_form_lapses_too(platform: SimulatedTaxPlatform,
                                              clock: FrozenClock) -> None:
    blue = await issued(platform, clock)
    form = platform.buyer_raises_red_form(blue)
    clock.advance(timedelta(hours=72))
    with pytest.raises(PlatformRejected):
        await platform.confirm_red_form(form.form_number)
    assert (await platform.query_red_form(form.form_number)).state == FORM_VOID_LAPSED  # type: ignore[union-attr]


async def test_a_renderer_failure_leaves_the_order_issuing_until_rendering_works(
        clock: FrozenClock) -> None:
    broken = True

    def render(document: InvoiceDocument) -> IssuedDocuments:
        if broken:
            raise RuntimeError("font missing")
        return stand_in_render(document)

    platform = SimulatedTaxPlatform(clock, render=render, latency=LATENCY)
    await platform.issue(request("A1"))
    clock.advance(LATENCY)
    with pytest.raises(RuntimeError):
        await platform.query("A1")
    broken = False
    result = await platform.query("A1")
    assert result is not None and result.state == "issued"
    assert result.number == "26442000000000000001"  # no number was used up by the failure


def test_the_offset_clock_only_moves_forward() -> None:
    base = FrozenClock(START)
    clock = OffsetClock(base)
    clock.advance(timedelta(hours=72))
    assert clock.now() == START + timedelta(hours=72)
    clock.set(START + timedelta(days=5))
    assert clock.now() == START + timedelta(days=5)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        clock.set(START)
