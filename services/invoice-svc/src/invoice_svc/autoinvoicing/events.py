"""Events invoice-svc publishes about monthly auto-invoicing (the producer owns their schema).

- `billing.invoice.auto_skipped.v1` (routing key `invoice.auto_skipped`, subject = the account
  uin): this month's automatic run did not invoice the previous month's bill although the
  account has auto-invoicing on, and the customer should invoice it by hand (INV-REQ-30).
  `reason` is `skip_short` (the remaining invoiceable amount is below the bill) or `failed`
  (the application was refused, e.g. the title became invalid: `failure_code` says why).
  `notice` is the Chinese text to show or mail; `email` is the delivery address set with the
  setting. Published once per account and run month (the run row's primary key), with a
  stable event id derived from `rules.run_key`.

An automatic run that does invoice publishes the ordinary `billing.invoice.applied.v1`
(applications.events); its application has `method = 'auto'`.

Money is yuan strings with two decimals, months `YYYY-MM` (Asia/Shanghai), times RFC 3339 UTC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

AUTO_INVOICE_SKIPPED = "billing.invoice.auto_skipped.v1"


class AutoInvoiceSkipped(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    uin: str
    run_month: str
    bill_month: str
    reason: Literal["skip_short", "failed"]
    bill_amount: str
    invoiceable_amount: str
    notice: str
    email: str | None
    failure_code: str | None = None
    created_at: str
