"""From billing-core events to consumption records (pure functions).

Every money event becomes its own record, as the console lists them (the source shows refunds
and 调账 as negative rows with their own ids):

- purchase (order.paid, cash > 0): +cash, keyed by its sub-order id;
- refund (order.refunded): -cash, keyed by the refund id, pointing at the refunded sub-order;
- settlement (bill.settled): one per product per month, keyed by the bill id; its monthly bill
  is its billing period (账期), not the month it was settled in (settled on the 1st of the next
  month, it still belongs to the month it bills);
- transfer_out / transfer_in (account.transfer.completed): +amount for the sender, -amount for
  the receiver (INV-REQ-6). Transfers carry no product: they are recorded at 6% as
  信息技术服务, the rate of the cloud services the money pays for.

Only cash is invoiceable (voucher amounts are kept for display, never in a balance). A record's
balance starts at its cash and has its sign. Marketplace records and records invoiced elsewhere
(INV-REQ-8) are stored but never count here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kit.clock import utc

from invoice_svc.common.times import shanghai_month
from invoice_svc.config import Settings
from invoice_svc.ledger.events_in import BillSettled, OrderPaid, OrderRefunded, TransferCompleted

TRANSFER_PRODUCT_CODE = "transfer"
TRANSFER_PRODUCT_NAME = "信息技术服务费"
TRANSFER_TAX_RATE = "0.06"

KIND_LABELS = {
    "purchase": {"new": "新购", "renew": "续费", "modify": "变配"},
    "refund": "退款",
    "settlement": "按量结算",
    "transfer_out": "转出",
    "transfer_in": "转入",
}


@dataclass(frozen=True, slots=True)
class NewRecord:
    uin: str
    kind: str
    source_id: str
    product_code: str
    product_name: str
    billing_mode: str
    bill_month: str
    tax_rate: str
    occurred_at: datetime
    cash_fen: int
    voucher_fen: int = 0
    order_id: str | None = None
    sub_order_id: str | None = None
    related_sub_order_id: str | None = None
    order_type: str | None = None
    instance_id: str | None = None
    period: str | None = None
    marketplace: bool = False
    vendor_id: str | None = None
    vendor_name: str | None = None
    out_of_scope: str | None = None

    @property
    def counts(self) -> bool:
        """Whether the record is the provider's to invoice (and so moves the ledger)."""
        return not self.marketplace and self.out_of_scope is None


def kind_label(kind: str, order_type: str | None) -> str:
    label = KIND_LABELS.get(kind, kind)
    if isinstance(label, dict):
        return label.get(order_type or "", "购买")
    return label


def out_of_scope(product_code: str, payment_channel: str | None, settings: Settings) -> str | None:
    """INV-REQ-8: purchases the provider does not invoice (they are invoiced elsewhere)."""
    if product_code in settings.redirected_products:
        return "redirected"
    if product_code in settings.wechat_pay_products and payment_channel == "wechat_pay":
        return "wechat_pay"
    return None


def from_order_paid(data: OrderPaid, settings: Settings) -> NewRecord | None:
    if data.cash_amount == 0:
        return None  # paid with vouchers only: nothing is invoiceable
    at = utc(data.paid_at)
    return NewRecord(
        uin=data.uin, kind="purchase", source_id=data.sub_order_id,
        product_code=data.product_code, product_name=data.product_name,
        billing_mode=data.billing_mode, bill_month=shanghai_month(at), tax_rate=data.tax_rate,
        occurred_at=at, cash_fen=data.cash_amount, voucher_fen=data.voucher_amount,
        order_id=data.order_id, sub_order_id=data.sub_order_id, order_type=data.order_type,
        instance_id=data.instance_id, marketplace=data.marketplace, vendor_id=data.vendor_id,
        vendor_name=data.vendor_name,
        out_of_scope=out_of_scope(data.product_code, data.payment_channel, settings),
    )


def from_order_refunded(data: OrderRefunded, settings: Settings) -> NewRecord | None:
    if data.cash_amount == 0:
        return None  # only vouchers returned: the invoiceable amount does not move
    at = utc(data.refunded_at)
    return NewRecord(
        uin=data.uin, kind="refund", source_id=data.refund_id,
        product_code=data.product_code, product_name=data.product_name,
        billing_mode="prepaid", bill_month=shanghai_month(at), tax_rate=data.tax_rate,
        occurred_at=at, cash_fen=-data.cash_amount, voucher_fen=-data.voucher_amount,
        order_id=data.order_id, sub_order_id=data.refund_id,
        related_sub_order_id=data.sub_order_id, instance_id=data.instance_id,
        marketplace=data.marketplace, vendor_id=data.vendor_id, vendor_name=data.vendor_name,
        out_of_scope=out_of_scope(data.product_code, data.payment_channel, settings),
    )


def from_bill_settled(data: BillSettled, settings: Settings) -> NewRecord | None:
    if data.cash_amount == 0:
        return None
    at = utc(data.settled_at)
    return NewRecord(
        uin=data.uin, kind="settlement", source_id=data.bill_id,
        product_code=data.product_code, product_name=data.product_name,
        billing_mode=data.billing_mode, bill_month=data.period, tax_rate=data.tax_rate,
        occurred_at=at, cash_fen=data.cash_amount, voucher_fen=data.voucher_amount,
        period=data.period, marketplace=data.marketplace, vendor_id=data.vendor_id,
        vendor_name=data.vendor_name,
        out_of_scope=out_of_scope(data.product_code, data.payment_channel, settings),
    )


def from_transfer(data: TransferCompleted) -> list[NewRecord]:
    at = utc(data.transferred_at)
    common = {
        "source_id": data.transfer_id, "product_code": TRANSFER_PRODUCT_CODE,
        "product_name": TRANSFER_PRODUCT_NAME, "billing_mode": "transfer",
        "bill_month": shanghai_month(at), "tax_rate": TRANSFER_TAX_RATE, "occurred_at": at,
        "order_type": data.kind,
    }
    return [
        NewRecord(uin=data.sender_uin, kind="transfer_out", cash_fen=data.amount, **common),
        NewRecord(uin=data.receiver_uin, kind="transfer_in", cash_fen=-data.amount, **common),
    ]
