"""Payload contracts of the events the billing core publishes on `billing.events`.

The billing core lives outside this system; these models are the contract as its consumers
(invoice-svc, contract-svc) rely on it, and tools/sim is its stand-in producer. Each model is the
CloudEvent `data` of one event type (DESIGN §5); `docs/events/` is generated from them with
`python -m sim schema --out docs/events/`.

Conventions (DESIGN §3): money is a string with exactly two decimals (`"12.34"`), never a float
nor a bare integer, and never negative here (a refund is its own event with positive amounts);
times are timezone-aware RFC 3339 (the simulator writes Asia/Shanghai offsets, `+08:00`); a uin is
a numeric string. Every field is required; optional ones are present with `null`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from kit.clock import SHANGHAI
from kit.messaging import CloudEvent, new_event
from kit.messaging.envelope import routing_key_of
from kit.money import parse_yuan
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "EVENT_MODELS",
    "NON_NEGATIVE_YUAN",
    "POSITIVE_YUAN",
    "PRODUCER",
    "ROUTING_KEYS",
    "SOURCE",
    "BillSettled",
    "BillingEvent",
    "OrderPaid",
    "OrderRefunded",
    "TransferCompleted",
    "model_for",
    "period_end",
    "to_event",
]

#: CloudEvent `source` of everything the billing core publishes.
SOURCE = "/billing-core"
PRODUCER = "billing core (outside this system; simulated by tools/sim)"


def _checked_yuan(value: str) -> str:
    parse_yuan(value)  # range check (BIGINT of fen); the pattern already fixed the shape
    return value


# Patterns instead of numeric bounds so the JSON Schema says the same thing the model checks:
# digits, a dot, exactly two decimals, no sign, no leading zeros.
NON_NEGATIVE_YUAN = r"^(0|[1-9][0-9]{0,16})\.[0-9]{2}$"
POSITIVE_YUAN = r"^(0\.(0[1-9]|[1-9][0-9])|[1-9][0-9]{0,16}\.[0-9]{2})$"

YuanNonNegative = Annotated[
    str, Field(pattern=NON_NEGATIVE_YUAN, examples=["0.00", "17.55"]),
    AfterValidator(_checked_yuan),
]
YuanPositive = Annotated[
    str, Field(pattern=POSITIVE_YUAN, examples=["0.01", "402.95"]),
    AfterValidator(_checked_yuan),
]
Uin = Annotated[str, Field(pattern=r"^[1-9][0-9]{4,19}$", examples=["100000000100"])]
Id = Annotated[str, Field(min_length=1, max_length=64)]
ProductCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,47}$", examples=["cvm"])]
ProductName = Annotated[str, Field(min_length=1, max_length=64, examples=["云服务器"])]
TaxRate = Literal["0.06", "0.09", "0.13"]

_TAX_RATE = ("VAT rate of the product as a string: \"0.06\" (IT and value-added telecom services), "
             "\"0.09\" (basic telecom services), \"0.13\" (goods, leasing of equipment)")
_MARKETPLACE = ("True for a cloud-marketplace (云市场) purchase: invoiced by its vendor, never by "
                "the provider, and kept apart from the provider's invoiceable amount (INV-REQ-7)")
_VENDOR_ID = "Marketplace vendor id; required when marketplace is true, null otherwise"


class BillingEvent(BaseModel):
    """Base of the billing core's payloads; subclasses set TYPE and SUBJECT_FIELD."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str]
    #: The payload field that becomes the CloudEvent `subject` (the account concerned).
    SUBJECT_FIELD: ClassVar[str] = "uin"
    #: Services that consume the type (DESIGN §1), for the catalogue.
    CONSUMERS: ClassVar[tuple[str, ...]] = ()

    @property
    def subject(self) -> str:
        return str(getattr(self, self.SUBJECT_FIELD))


def _marketplace_schema(with_name: bool) -> dict[str, Any]:
    """`vendor_id` (and `vendor_name`) is a string exactly when `marketplace` is true."""
    fields = ("vendor_id", "vendor_name") if with_name else ("vendor_id",)
    then: dict[str, Any] = {"properties": {"vendor_id": {"type": "string"}}}
    otherwise = {"properties": {f: {"type": "null"} for f in fields}}
    return {"allOf": [{"if": {"properties": {"marketplace": {"const": True}}},
                       "then": then, "else": otherwise}]}


def _check_vendor(marketplace: bool, vendor_id: str | None, vendor_name: str | None = None) -> None:
    if marketplace and vendor_id is None:
        raise ValueError("vendor_id is required when marketplace is true")
    if not marketplace and (vendor_id is not None or vendor_name is not None):
        raise ValueError("vendor_id and vendor_name must be null when marketplace is false")


class OrderPaid(BillingEvent):
    """A prepaid (包年包月 / package) sub-order was paid: new purchase (新购), renewal (续费) or
    configuration change (变配). Invoiceable once paid (INV-REQ-2), for its cash part only
    (INV-REQ-1)."""

    model_config = ConfigDict(json_schema_extra=_marketplace_schema(with_name=True))
    TYPE: ClassVar[str] = "billing.order.paid.v1"
    CONSUMERS: ClassVar[tuple[str, ...]] = ("invoice-svc", "contract-svc")

    order_id: Id = Field(description="Order (大订单) id; one order may hold several sub-orders")
    sub_order_id: Id = Field(description="Sub-order id (子订单号), unique; the ledger record key")
    uin: Uin = Field(description="Account (uin) that paid")
    product_code: ProductCode = Field(description="Product code, e.g. cvm")
    product_name: ProductName = Field(description="Product name in Chinese, e.g. 云服务器")
    instance_id: Id | None = Field(
        description="Resource instance, e.g. ins-48tk4x2a; null for packages without one")
    billing_mode: Literal["prepaid"] = Field(description="Always prepaid (包年包月 / package)")
    order_type: Literal["new", "renew", "modify"] = Field(
        description="new = 新购, renew = 续费, modify = 变配 (configuration change)")
    tax_rate: TaxRate = Field(description=_TAX_RATE)
    paid_at: AwareDatetime = Field(description="When the payment succeeded (扣费成功)")
    cash_amount: YuanNonNegative = Field(
        description="Cash paid (现金支付金额), yuan; the invoiceable part")
    voucher_amount: YuanNonNegative = Field(
        description="Paid with vouchers (代金券), yuan; never invoiceable")
    marketplace: bool = Field(description=_MARKETPLACE)
    vendor_id: Id | None = Field(description=_VENDOR_ID)
    vendor_name: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        description="Marketplace vendor's legal name; null when marketplace is false")

    @model_validator(mode="after")
    def _vendor(self) -> OrderPaid:
        _check_vendor(self.marketplace, self.vendor_id, self.vendor_name)
        return self


class OrderRefunded(BillingEvent):
    """A paid prepaid sub-order was refunded (退款), fully or partly. The refunded cash reduces
    the invoiceable amount (INV-REQ-2); it never exceeds the cash paid for that sub-order.
    Published after the order's OrderPaid, but a consumer may still receive it first."""

    model_config = ConfigDict(json_schema_extra=_marketplace_schema(with_name=False))
    TYPE: ClassVar[str] = "billing.order.refunded.v1"
    CONSUMERS: ClassVar[tuple[str, ...]] = ("invoice-svc", "contract-svc")

    refund_id: Id = Field(description="Refund id (the refund's own sub-order id), unique")
    sub_order_id: Id = Field(description="sub_order_id of the OrderPaid being refunded")
    uin: Uin = Field(description="Account (uin) refunded; the one that paid")
    product_code: ProductCode = Field(description="Product code of the refunded sub-order")
    product_name: ProductName = Field(description="Product name in Chinese")
    tax_rate: TaxRate = Field(description=_TAX_RATE)
    refunded_at: AwareDatetime = Field(description="When the refund succeeded; after paid_at")
    cash_amount: YuanPositive = Field(
        description="Cash refunded, yuan (> 0, at most the sub-order's cash_amount); "
                    "subtracted from the invoiceable amount")
    voucher_amount: YuanNonNegative = Field(
        description="Voucher value returned, yuan (at most the sub-order's voucher_amount)")
    marketplace: bool = Field(description=_MARKETPLACE)
    vendor_id: Id | None = Field(description=_VENDOR_ID)

    @model_validator(mode="after")
    def _vendor(self) -> OrderRefunded:
        _check_vendor(self.marketplace, self.vendor_id)
        return self


class BillSettled(BillingEvent):
    """A month of postpaid usage (按量计费) of one product was settled: one event per product per
    month per account (INV-REQ-3), published once the Asia/Shanghai month has ended."""

    model_config = ConfigDict(json_schema_extra=_marketplace_schema(with_name=False))
    TYPE: ClassVar[str] = "billing.bill.settled.v1"
    CONSUMERS: ClassVar[tuple[str, ...]] = ("invoice-svc",)

    bill_id: Id = Field(description="Settlement bill id, unique; one per (uin, product, period)")
    uin: Uin = Field(description="Account (uin) billed")
    product_code: ProductCode = Field(description="Product code, e.g. cos")
    product_name: ProductName = Field(description="Product name in Chinese, e.g. 对象存储")
    billing_mode: Literal["postpaid"] = Field(description="Always postpaid (按量计费)")
    period: Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = Field(
        description="Billing month (账期) YYYY-MM in Asia/Shanghai")
    settled_at: AwareDatetime = Field(
        description="When the month was settled (扣费成功); not before the period's end")
    tax_rate: TaxRate = Field(description=_TAX_RATE)
    cash_amount: YuanNonNegative = Field(description="Cash paid for the month, yuan; invoiceable")
    voucher_amount: YuanNonNegative = Field(
        description="Paid with vouchers, yuan; never invoiceable")
    marketplace: bool = Field(description=_MARKETPLACE)
    vendor_id: Id | None = Field(description=_VENDOR_ID)

    @model_validator(mode="after")
    def _checks(self) -> BillSettled:
        _check_vendor(self.marketplace, self.vendor_id)
        if self.settled_at < period_end(self.period):
            raise ValueError(f"settled_at is before the end of period {self.period}")
        return self


class TransferCompleted(BillingEvent):
    """Money moved between a reseller and its customer (代理商代客) or a parent and a child account
    (父子账号). It counts at once in the sender's invoiceable amount and is subtracted from the
    receiver's (INV-REQ-6). The CloudEvent subject is the sender."""

    TYPE: ClassVar[str] = "billing.account.transfer.completed.v1"
    SUBJECT_FIELD: ClassVar[str] = "sender_uin"
    CONSUMERS: ClassVar[tuple[str, ...]] = ("invoice-svc",)

    transfer_id: Id = Field(description="Transfer id, unique")
    kind: Literal["reseller_customer", "parent_child"] = Field(
        description="reseller_customer = 代理商代客 (either direction), "
                    "parent_child = 父子账号 (either direction)")
    sender_uin: Uin = Field(description="Account the money left")
    receiver_uin: Uin = Field(description="Account the money went to; never the sender")
    amount: YuanPositive = Field(description="Amount transferred, yuan (> 0)")
    transferred_at: AwareDatetime = Field(description="When the transfer succeeded")

    @model_validator(mode="after")
    def _distinct(self) -> TransferCompleted:
        if self.sender_uin == self.receiver_uin:
            raise ValueError("sender_uin and receiver_uin must differ")
        return self


def period_end(period: str) -> datetime:
    """First instant after a `YYYY-MM` billing month, in Asia/Shanghai."""
    year, month = int(period[:4]), int(period[5:7])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=SHANGHAI)


#: Event type -> payload model.
EVENT_MODELS: dict[str, type[BillingEvent]] = {
    m.TYPE: m for m in (OrderPaid, OrderRefunded, BillSettled, TransferCompleted)
}
#: Event type -> routing key on `billing.events`.
ROUTING_KEYS: dict[str, str] = {t: routing_key_of(t) for t in EVENT_MODELS}


def model_for(event: CloudEvent) -> BillingEvent:
    """Validate a received CloudEvent's `data` against its contract."""
    try:
        model = EVENT_MODELS[event.type]
    except KeyError:
        raise ValueError(f"not a billing-core event type: {event.type}") from None
    return model.model_validate(event.data)


def to_event(payload: BillingEvent, *, event_id: str | None = None,
             time: datetime | None = None) -> CloudEvent:
    """Wrap a payload in its CloudEvent envelope (source /billing-core, subject = the uin)."""
    return new_event(payload.TYPE, source=SOURCE, subject=payload.subject,
                     data=payload.model_dump(mode="json"), event_id=event_id, time=time)
