"""sim.contracts: what each billing-core payload accepts and refuses."""

from __future__ import annotations

from typing import Any

import pytest
from kit.messaging import parse_event
from pydantic import ValidationError
from sim.contracts import (
    EVENT_MODELS,
    ROUTING_KEYS,
    BillSettled,
    OrderPaid,
    OrderRefunded,
    TransferCompleted,
    model_for,
    to_event,
)


def paid(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": "20230830041038241137481", "sub_order_id": "20230830041038241137482",
        "uin": "100000000100", "product_code": "cvm", "product_name": "云服务器",
        "instance_id": "ins-18164abc", "billing_mode": "prepaid", "order_type": "new",
        "tax_rate": "0.06", "paid_at": "2023-08-30T09:53:11+08:00", "cash_amount": "17.55",
        "voucher_amount": "0.00", "marketplace": False, "vendor_id": None, "vendor_name": None,
    }
    return data | changes


def refunded(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "refund_id": "20230830041038241335971", "sub_order_id": "20230830041038241137482",
        "uin": "100000000100", "product_code": "cvm", "product_name": "云服务器",
        "tax_rate": "0.06", "refunded_at": "2023-08-30T09:55:37+08:00", "cash_amount": "17.55",
        "voucher_amount": "0.00", "marketplace": False, "vendor_id": None,
    }
    return data | changes


def settled(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "bill_id": "202309000000000000001", "uin": "100000000100", "product_code": "cos",
        "product_name": "对象存储", "billing_mode": "postpaid", "period": "2023-09",
        "settled_at": "2023-10-01T02:00:00+08:00", "tax_rate": "0.06", "cash_amount": "0.04",
        "voucher_amount": "0.00", "marketplace": False, "vendor_id": None,
    }
    return data | changes


def transfer(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "transfer_id": "TR20230901000000000001", "kind": "reseller_customer",
        "sender_uin": "100000000100", "receiver_uin": "100000000101", "amount": "400.00",
        "transferred_at": "2023-09-01T10:00:00Z",
    }
    return data | changes


def test_valid_examples_pass() -> None:
    OrderPaid.model_validate(paid())
    OrderRefunded.model_validate(refunded())
    BillSettled.model_validate(settled())
    TransferCompleted.model_validate(transfer())


def test_mapping_covers_the_four_types_with_their_routing_keys() -> None:
    assert EVENT_MODELS == {
        "billing.order.paid.v1": OrderPaid,
        "billing.order.refunded.v1": OrderRefunded,
        "billing.bill.settled.v1": BillSettled,
        "billing.account.transfer.completed.v1": TransferCompleted,
    }
    assert ROUTING_KEYS["billing.account.transfer.completed.v1"] == "account.transfer.completed"


@pytest.mark.parametrize("amount", [
    "17.5", "17", "17.555", "-1.00", "017.55", "1,000.00", " 1.00", "１.00", "1e3", "NaN",
    "100000000000000000.00", 17.55, 1755,
])
def test_money_must_be_a_string_with_exactly_two_decimals(amount: object) -> None:
    with pytest.raises(ValidationError):
        OrderPaid.model_validate(paid(cash_amount=amount))


@pytest.mark.parametrize("amount", ["0.00", "0.01", "12.30", "99999.99"])
def test_non_negative_money_accepts(amount: str) -> None:
    assert OrderPaid.model_validate(paid(voucher_amount=amount)).voucher_amount == amount


def test_refund_cash_and_transfer_amount_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        OrderRefunded.model_validate(refunded(cash_amount="0.00"))
    with pytest.raises(ValidationError):
        TransferCompleted.model_validate(transfer(amount="0.00"))
    assert OrderRefunded.model_validate(refunded(cash_amount="0.01")).cash_amount == "0.01"


@pytest.mark.parametrize("changes", [
    {"extra_field": 1},
    {"uin": 100000000100},
    {"uin": "abc"},
    {"paid_at": "2023-08-30T09:53:11"},  # naive
    {"tax_rate": "0.05"},
    {"tax_rate": 0.06},
    {"billing_mode": "postpaid"},
    {"order_type": "refund"},
    {"marketplace": True},  # no vendor_id
    {"vendor_id": "mv-1"},  # vendor without marketplace
    {"vendor_name": "某公司"},
])
def test_order_paid_refuses(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OrderPaid.model_validate(paid(**changes))


def test_marketplace_order_needs_a_vendor_id_only() -> None:
    order = OrderPaid.model_validate(paid(marketplace=True, vendor_id="mv-1", vendor_name=None))
    assert order.vendor_id == "mv-1"
    with pytest.raises(ValidationError):
        OrderRefunded.model_validate(refunded(marketplace=True))


def test_every_field_is_required_even_when_nullable() -> None:
    data = paid()
    del data["instance_id"]
    with pytest.raises(ValidationError):
        OrderPaid.model_validate(data)


def test_bill_is_settled_only_after_its_shanghai_month() -> None:
    # 2023-09-30T16:00Z is 2023-10-01T00:00+08:00: the first instant after the period.
    assert BillSettled.model_validate(settled(settled_at="2023-09-30T16:00:00Z"))
    for early in ("2023-09-30T15:59:59Z", "2023-09-15T10:00:00+08:00"):
        with pytest.raises(ValidationError):
            BillSettled.model_validate(settled(settled_at=early))
    for period in ("2023-13", "2023-9", "202309"):
        with pytest.raises(ValidationError):
            BillSettled.model_validate(settled(period=period))


def test_transfer_sender_and_receiver_differ() -> None:
    with pytest.raises(ValidationError):
        TransferCompleted.model_validate(transfer(receiver_uin="100000000100"))
    with pytest.raises(ValidationError):
        TransferCompleted.model_validate(transfer(kind="sibling"))


def test_to_event_wraps_in_the_envelope_and_round_trips() -> None:
    order = TransferCompleted.model_validate(transfer())
    event = to_event(order, event_id="0190e0f5-0000-7000-8000-000000000001")
    assert event.source == "/billing-core"
    assert event.subject == "100000000100"  # the sender
    assert event.routing_key == "account.transfer.completed"
    parsed = parse_event(event.to_json(), message_id=event.id)
    assert model_for(parsed) == order
