"""Events invoice-svc publishes about issuing (the producer owns their schema).

- `billing.invoice.issued.v1` (routing key `invoice.issued`, subject = uin): an invoice has
  its 20-digit number and documents; invoice-svc's own mailer sends it to the delivery email.
- `billing.invoice.failed.v1` (routing key `invoice.failed`): the platform refused it; the
  money it reserved is invoiceable again (`released_amount`).
- `billing.invoice.revoked.v1` (routing key `invoice.revoked`): the customer revoked it before
  it went to the platform; its money is invoiceable again.

Money is yuan strings with two decimals, times RFC 3339 UTC.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

INVOICE_ISSUED = "billing.invoice.issued.v1"
INVOICE_FAILED = "billing.invoice.failed.v1"
INVOICE_REVOKED = "billing.invoice.revoked.v1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InvoiceIssued(_Model):
    invoice_id: str
    application_id: str
    uin: str
    kind: str  # blue | red
    number: str
    issued_at: datetime
    invoice_type: str
    tax_rate: str
    total_amount: str
    buyer_name: str
    email: str
    original_number: str | None = None  # red invoices: the blue invoice offset


class InvoiceFailed(_Model):
    invoice_id: str
    application_id: str
    uin: str
    failure_code: str
    failure_reason: str
    released_amount: str


class InvoiceRevoked(_Model):
    invoice_id: str
    application_id: str
    uin: str
    revoked_by_sub_uin: str | None
    released_amount: str
