"""From billing-core payloads to consumption records (INV-REQ-1..3, 6, 7, 8): pure mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from invoice_svc.common.inbound import normalize_tax_rate
from invoice_svc.config import Settings
from invoice_svc.ledger import records
from invoice_svc.ledger.events_in import BillSettled, OrderPaid, OrderRefunded, TransferCompleted
from pydantic import ValidationError

SETTINGS = Settings(database_url="sqlite+aiosqlite://")
PAID = {"order_id": "o1", "sub_order_id": "s1", "uin": "100000000001", "product_code": "cvm",
        "product_name": "云服务器", "instance_id": "ins-1", "billing_mode": "prepaid",
        "order_type": "renew", "tax_rate": "0.06", "paid_at": "2025-01-31T23:30:00+08:00",
        "cash_amount": "17.55", "voucher_amount": "2.00", "marketplace": False,
        "vendor_id": None, "vendor_name": None}


def test_inv_req_2_a_purchase_is_a_positive_record_in_its_shanghai_month() -> None:
    record = records.from_order_paid(OrderPaid.model_validate(PAID), SETTINGS)
    assert record is not None
    assert (record.kind, record.cash_fen, record.voucher_fen, record.bill_month) == (
        "purchase", 1755, 200, "2025-01")
    assert record.occurred_at == datetime(2025, 1, 31, 15, 30, tzinfo=UTC)
    assert record.counts and records.kind_label(record.kind, record.order_type) == "续费"


def test_inv_req_1_voucher_only_orders_make_no_record() -> None:
    paid = OrderPaid.model_validate(PAID | {"cash_amount": "0.00", "voucher_amount": "9.00"})
    assert records.from_order_paid(paid, SETTINGS) is None


def test_inv_req_2_a_refund_is_its_own_negative_record() -> None:
    refund = OrderRefunded.model_validate({
        "refund_id": "r1", "sub_order_id": "s1", "uin": "100000000001", "product_code": "cvm",
        "product_name": "云服务器", "tax_rate": "0.06", "refunded_at": "2025-02-01T10:00:00+08:00",
        "cash_amount": "5.67", "voucher_amount": "1.00", "marketplace": False, "vendor_id": None})
    record = records.from_order_refunded(refund, SETTINGS)
    assert record is not None
    assert (record.kind, record.source_id, record.sub_order_id, record.related_sub_order_id,
            record.cash_fen, record.voucher_fen) == ("refund", "r1", "r1", "s1", -567, -100)


def test_inv_req_3_a_settlement_belongs_to_its_billing_period() -> None:
    bill = BillSettled.model_validate({
        "bill_id": "b1", "uin": "100000000001", "product_code": "cos", "product_name": "对象存储",
        "billing_mode": "postpaid", "period": "2025-01", "settled_at": "2025-02-01T03:00:00+08:00",
        "tax_rate": "0.06", "cash_amount": "3.10", "voucher_amount": "0.00",
        "marketplace": False, "vendor_id": None})
    record = records.from_bill_settled(bill, SETTINGS)
    assert record is not None and (record.bill_month, record.period) == ("2025-01", "2025-01")


def test_inv_req_6_a_transfer_is_two_records_at_six_percent() -> None:
    transfer = TransferCompleted.model_validate({
        "transfer_id": "t1", "kind": "parent_child", "sender_uin": "100000000001",
        "receiver_uin": "100000000002", "amount": "500.00",
        "transferred_at": "2025-01-10T10:00:00+08:00"})
    out, into = records.from_transfer(transfer)
    assert (out.uin, out.kind, out.cash_fen, out.tax_rate) == (
        "100000000001", "transfer_out", 50000, "0.06")
    assert (into.uin, into.kind, into.cash_fen) == ("100000000002", "transfer_in", -50000)
    with pytest.raises(ValidationError):
        TransferCompleted.model_validate(transfer.model_dump() | {"receiver_uin": "100000000001"})


def test_inv_req_7_and_8_marketplace_and_out_of_scope_do_not_count() -> None:
    market = OrderPaid.model_validate(PAID | {"marketplace": True, "vendor_id": "mv-1"})
    assert not records.from_order_paid(market, SETTINGS).counts  # type: ignore[union-attr]
    exmail = OrderPaid.model_validate(PAID | {"product_code": "exmail"})
    assert records.from_order_paid(exmail, SETTINGS).out_of_scope == "redirected"  # type: ignore[union-attr]
    tcb = OrderPaid.model_validate(PAID | {"product_code": "tcb", "payment_channel": "wechat_pay"})
    assert records.from_order_paid(tcb, SETTINGS).out_of_scope == "wechat_pay"  # type: ignore[union-attr]
    tcb_cloud_pay = OrderPaid.model_validate(PAID | {"product_code": "tcb"})
    assert records.from_order_paid(tcb_cloud_pay, SETTINGS).counts  # type: ignore[union-attr]


@pytest.mark.parametrize(("given", "rate"), [("0.06", "0.06"), (0.09, "0.09"), ("13%", "0.13"),
                                             ("0.060000", "0.06"), ("0.015", "0.015")])
def test_tolerant_tax_rates(given: object, rate: str) -> None:
    assert normalize_tax_rate(given) == rate


@pytest.mark.parametrize("value", [{"cash_amount": "1.005"}, {"cash_amount": "-1.00"},
                                   {"tax_rate": "1.2"}, {"tax_rate": "six"},
                                   {"cash_amount": True}, {"uin": "abc"}])
def test_what_would_change_meaning_is_refused(value: dict) -> None:
    with pytest.raises(ValidationError):
        OrderPaid.model_validate(PAID | value)


def test_tolerant_numbers_uins_and_naive_times() -> None:
    paid = OrderPaid.model_validate(PAID | {"cash_amount": 12.3, "uin": 100000000001,
                                            "paid_at": "2025-01-31T23:30:00", "extra": "x"})
    assert (paid.cash_amount, paid.uin) == (1230, "100000000001")
    assert paid.paid_at.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
