"""The billing core's events as this service reads them: tolerant models (unknown fields are
ignored, see `invoice_svc.common.inbound`). The contract is the producer's (tools/sim's
`sim.contracts` is its stand-in)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from invoice_svc.common.inbound import Fen, Id, Instant, Name, TaxRate, Uin

ORDER_PAID = "billing.order.paid.v1"
ORDER_REFUNDED = "billing.order.refunded.v1"
BILL_SETTLED = "billing.bill.settled.v1"
TRANSFER_COMPLETED = "billing.account.transfer.completed.v1"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Money(_Payload):
    cash_amount: Fen = Field(ge=0)
    voucher_amount: Fen = Field(default=0, ge=0)
    marketplace: bool = False
    vendor_id: Id | None = None
    vendor_name: Name | None = None


class OrderPaid(_Money):
    order_id: Id | None = None
    sub_order_id: Id
    uin: Uin
    product_code: Name
    product_name: Name
    instance_id: Id | None = None
    billing_mode: str = "prepaid"
    order_type: str = "new"
    tax_rate: TaxRate
    paid_at: Instant
    #: Not in the v1 contract; read when present (e.g. `wechat_pay`, INV-REQ-8).
    payment_channel: str | None = None


class OrderRefunded(_Money):
    refund_id: Id
    sub_order_id: Id
    uin: Uin
    order_id: Id | None = None
    instance_id: Id | None = None
    product_code: Name
    product_name: Name
    tax_rate: TaxRate
    refunded_at: Instant
    payment_channel: str | None = None


class BillSettled(_Money):
    bill_id: Id
    uin: Uin
    product_code: Name
    product_name: Name
    billing_mode: str = "postpaid"
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    settled_at: Instant
    tax_rate: TaxRate
    payment_channel: str | None = None


class TransferCompleted(_Payload):
    transfer_id: Id
    kind: Literal["reseller_customer", "parent_child"] | str = "reseller_customer"
    sender_uin: Uin
    receiver_uin: Uin
    amount: Fen = Field(gt=0)
    transferred_at: Instant

    @model_validator(mode="after")
    def _distinct(self) -> TransferCompleted:
        if self.sender_uin == self.receiver_uin:
            raise ValueError("sender_uin and receiver_uin must differ")
        return self
