"""Events invoice-svc publishes about applications (the producer owns their schema).

- `billing.invoice.applied.v1` (routing key `invoice.applied`, subject = the account uin):
  an application was accepted and its money reserved; the invoices in it are to be issued
  (one per tax rate, INV-REQ-14). Allocations to records stay in this service (they can run
  to thousands); `record_count` says how many records it draws on.

Money is yuan strings with two decimals, tax rates strings such as "0.06", times RFC 3339 UTC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

INVOICE_APPLIED = "billing.invoice.applied.v1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Party(_Model):
    name: str
    taxpayer_id: str | None
    address: str | None
    phone: str | None
    bank_name: str | None  # only when the customer asked to show it
    bank_account: str | None


class Line(_Model):
    line_no: int
    item_name: str  # *税收分类简称*产品名称
    tax_rate: str
    amount: str  # tax-inclusive
    net_amount: str
    tax_amount: str


class Invoice(_Model):
    invoice_id: str
    status: Literal["applied"]
    tax_rate: str
    lines: list[Line]
    total_amount: str
    total_net_amount: str
    total_tax_amount: str
    amount_in_capitals: str


class InvoiceApplied(_Model):
    application_id: str
    uin: str
    applied_by_sub_uin: str | None
    mode: Literal["records", "bills", "amount"]
    match_by: Literal["records", "bills"] | None
    invoice_type: Literal["personal_general", "enterprise_general", "enterprise_special",
                          "organization_general"]
    invoice_type_name: str
    buyer: Party
    seller: Party
    invoices: list[Invoice]
    total_amount: str
    total_net_amount: str
    total_tax_amount: str
    amount_in_capitals: str
    legacy_amount: str
    record_count: int
    remark: str | None
    email: str
    show_buyer_bank: bool
    show_seller_bank: bool
    status: Literal["applied"]
    created_at: str
