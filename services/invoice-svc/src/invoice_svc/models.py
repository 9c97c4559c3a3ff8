"""Every table of invoice-svc, imported once so `invoice_svc.db.metadata` is complete."""

import invoice_svc.autoinvoicing.models
import invoice_svc.returns.models  # noqa: F401
from invoice_svc.accounts.models import account_profiles
from invoice_svc.applications.models import (
    application_allocations,
    invoice_applications,
    invoice_lines,
    invoices,
)
from invoice_svc.common.idempotency import idempotency_keys
from invoice_svc.db import inbox, metadata, outbox
from invoice_svc.issuing.models import invoice_documents, invoice_progress
from invoice_svc.ledger.models import account_ledgers, consumption_records
from invoice_svc.titles.models import invoice_titles

__all__ = [
    "account_ledgers", "account_profiles", "application_allocations", "consumption_records",
    "idempotency_keys", "inbox", "invoice_applications", "invoice_documents", "invoice_lines",
    "invoice_progress", "invoice_titles", "invoices", "metadata", "outbox",
]
