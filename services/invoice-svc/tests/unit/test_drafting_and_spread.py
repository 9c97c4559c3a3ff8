"""One invoice per tax rate with per-product lines (INV-REQ-14), and drawing part of a monthly
bill from its records (INV-REQ-13c): examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from invoice_svc.applications.allocation import spread
from invoice_svc.applications.drafting import draft_invoices
from invoice_svc.matching import Allocation, AllocationError, CandidateRecord, group_by_tax_rate
from kit.money import split_tax_inclusive

SIX, NINE, THIRTEEN = Decimal("0.06"), Decimal("0.09"), Decimal("0.13")
CATEGORIES = {"0.06": "信息技术服务", "0.09": "基础电信服务", "0.13": "经营租赁"}
T0 = datetime(2020, 9, 17, 10, 0, tzinfo=UTC)


def test_inv_req_14_lines_per_product_and_legacy_line() -> None:
    allocation = Allocation.from_lines(40295, [("a", -81), ("b", 85), ("c", 1000)])
    groups = group_by_tax_rate(allocation, {"a": SIX, "b": SIX, "c": NINE},
                               legacy_tax_rate=SIX)
    six, nine = draft_invoices(groups, {"a": "对象存储", "b": "对象存储", "c": "专线接入"},
                               CATEGORIES)
    assert [(line.item_name, line.amount_fen) for line in six.lines] == [
        ("*信息技术服务*云服务费", 40295), ("*信息技术服务*对象存储", 4)]
    assert [(line.item_name, line.amount_fen) for line in nine.lines] == [
        ("*基础电信服务*专线接入", 1000)]
    assert six.capitals == "肆佰零贰圆玖角玖分"


def test_a_product_netting_below_zero_prints_one_line_for_the_rate() -> None:
    allocation = Allocation.from_lines(0, [("refund", -500), ("other", 800)])
    groups = group_by_tax_rate(allocation, {"refund": SIX, "other": SIX})
    (invoice,) = draft_invoices(groups, {"refund": "云服务器", "other": "对象存储"}, CATEGORIES)
    assert [(line.item_name, line.amount_fen) for line in invoice.lines] == [
        ("*信息技术服务*云服务费", 300)]


def test_a_rate_netting_to_zero_issues_no_invoice() -> None:
    allocation = Allocation.from_lines(0, [("a", -500), ("b", 500), ("c", 100)])
    groups = group_by_tax_rate(allocation, {"a": THIRTEEN, "b": THIRTEEN, "c": SIX})
    invoices = draft_invoices(groups, {"a": "x", "b": "x", "c": "y"}, CATEGORIES)
    assert [i.tax_rate for i in invoices] == [SIX]


lines = st.lists(st.tuples(st.sampled_from(["云服务器", "对象存储", "短信"]),
                           st.sampled_from([SIX, NINE, THIRTEEN]),
                           st.integers(-50_000, 5_000_000)), min_size=1, max_size=30)


@given(lines, st.integers(0, 10_000_000))
def test_property_invoices_add_up_per_line_and_per_rate(drawn: list, legacy: int) -> None:
    ids = [f"r{i}" for i in range(len(drawn))]
    allocation = Allocation.from_lines(legacy, [(rid, amount) for rid, (_, _, amount)
                                                in zip(ids, drawn, strict=True)])
    rates = {rid: rate for rid, (_, rate, _) in zip(ids, drawn, strict=True)}
    try:
        groups = group_by_tax_rate(allocation, rates, legacy_tax_rate=SIX)
    except AllocationError:
        return  # a rate netting below zero: refused, nothing to draft
    products = {rid: name for rid, (name, _, _) in zip(ids, drawn, strict=True)}
    invoices = draft_invoices(groups, products, CATEGORIES)
    assert {i.tax_rate for i in invoices} == {g.tax_rate for g in groups if g.amount_fen}
    assert sum(i.amount_fen for i in invoices) == allocation.total_fen
    for invoice in invoices:
        assert invoice.amount_fen == invoice.net_fen + invoice.tax_fen > 0
        for line in invoice.lines:
            assert line.amount_fen > 0
            assert (line.net_fen, line.tax_fen) == split_tax_inclusive(line.amount_fen,
                                                                       line.tax_rate)


def bill(*balances: int) -> list[CandidateRecord]:
    return [CandidateRecord(f"r{i}", T0 - timedelta(minutes=i), b, SIX)
            for i, b in enumerate(balances)]


def test_inv_req_13_part_of_the_source_bill_nets_the_newest_refund() -> None:
    # The source's 2020-09 records plus an older purchase, so 0.04 is part of the bill.
    assert spread(4, bill(-81, 85, -85, 85, 100)) == [("r0", -81), ("r1", 85)]
    assert spread(3, bill(-81, 85, -85, 85, 100)) == [("r0", -81), ("r1", 84)]


def test_a_whole_bill_takes_every_record() -> None:
    assert spread(4, bill(-81, 85, 0, -85, 85)) == [("r0", -81), ("r1", 85), ("r3", -85),
                                                     ("r4", 85)]


def test_part_of_a_negative_bill_is_the_mirror_image() -> None:
    assert spread(-100, bill(100, -300)) == [("r0", 100), ("r1", -200)]


def test_more_than_the_bill_is_refused() -> None:
    with pytest.raises(AllocationError):
        spread(5, bill(-81, 85))


@given(st.lists(st.integers(-10_000, 10_000), min_size=1, max_size=25), st.data())
def test_property_spread_adds_up_and_stays_in_range(balances: list[int], data) -> None:
    total = sum(balances)
    assume(total != 0)
    amount = data.draw(st.integers(min(0, total), max(0, total)))
    records = bill(*balances)
    drawn = spread(amount, records)
    assert sum(a for _, a in drawn) == amount
    by_id = {r.record_id: r.balance_fen for r in records}
    assert len({rid for rid, _ in drawn}) == len(drawn)
    for rid, a in drawn:
        low, high = sorted((0, by_id[rid]))
        assert low <= a <= high and a != 0
