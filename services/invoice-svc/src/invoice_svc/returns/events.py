"""Events invoice-svc publishes about returns (the producer owns their schema).

- `billing.invoice.returned.v1` (routing key `invoice.returned`, subject = uin): a return is
  complete; the blue invoice is voided (已作废) and `released_amount` is invoiceable again. For
  数电 the red (negative) invoice that offsets it exists (`red_invoice_id`, `red_number`,
  downloadable like any invoice); legacy electronic and paper returns completed by hand have
  no red invoice here (`completed_by` = "operator").

Money is yuan strings with two decimals, times RFC 3339 UTC.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

INVOICE_RETURNED = "billing.invoice.returned.v1"


class InvoiceReturned(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    return_id: str
    invoice_id: str
    application_id: str
    uin: str
    number: str | None  # the blue invoice's number
    medium: str
    reason: str
    status: str  # always "voided"
    voided_at: datetime
    released_amount: str
    completed_by: str  # platform (red invoice issued) | operator (by hand)
    red_invoice_id: str | None = None
    red_number: str | None = None
    red_form_number: str | None = None
