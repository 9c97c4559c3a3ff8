"""invoice-svc's public operations, for the gateway's route table (kit.routes).

CAM actions `invoice:<Action>`; API 3.0 `invoice` version 2026-11-01 with the same action
names. Bodies and answers are snake_case (the facade translates PascalCase mechanically).

CAM resources (`{uin}` = the caller's account):

- `qcs::invoice::uin/{uin}:record/*`       the consumption ledger (records, bills, amounts)
- `qcs::invoice::uin/{uin}:title/*`        the invoice title
- `qcs::invoice::uin/{uin}:application/*`  matching, previews and applications
- `qcs::invoice::uin/{uin}:invoice/*`      issued invoices: records, documents, returns

The operator's legacy-amount endpoint is for `operator` callers only and has no API 3.0 name.
"""

from __future__ import annotations

from kit.routes import Route

from invoice_svc.autoinvoicing.routes import ROUTES as AUTOINVOICING_ROUTES
from invoice_svc.common.routing import APPLICATIONS, INVOICES, RECORDS, TITLES
from invoice_svc.common.routing import invoice_action as _invoice
from invoice_svc.returns.routes import ROUTES as RETURNS_ROUTES

ROUTES: list[Route] = [
    _invoice("GET", "/v1/consumption-records", "DescribeConsumptionRecords", RECORDS,
             "Consumption records with their invoiceable balances"),
    _invoice("GET", "/v1/monthly-bills", "DescribeMonthlyBills", RECORDS,
             "Monthly bills with their per-product breakdown"),
    _invoice("GET", "/v1/invoiceable-amount", "DescribeInvoiceableAmount", RECORDS,
             "The invoiceable amount: total, per tax rate, legacy"),
    _invoice("POST", "/v1/invoice-title", "CreateInvoiceTitle", TITLES,
             "Create the account's invoice title"),
    _invoice("PUT", "/v1/invoice-title", "ModifyInvoiceTitle", TITLES,
             "Replace the account's invoice title"),
    _invoice("GET", "/v1/invoice-title", "DescribeInvoiceTitle", TITLES,
             "The account's invoice title"),
    _invoice("POST", "/v1/invoice-amount-matches", "MatchInvoiceAmount", APPLICATIONS,
             "Propose what an amount is drawn from"),
    _invoice("POST", "/v1/invoice-previews", "PreviewInvoice", APPLICATIONS,
             "Preview the invoices of an application"),
    _invoice("POST", "/v1/invoice-applications", "ApplyInvoice", APPLICATIONS,
             "Apply for invoices"),
    _invoice("GET", "/v1/invoices", "DescribeInvoices", INVOICES,
             "Invoice records with filters (status, dates, type, number)"),
    _invoice("GET", "/v1/invoices/{invoice_id}", "DescribeInvoiceDetail", INVOICES,
             "One invoice: data, lines, progress, documents"),
    _invoice("POST", "/v1/invoices/{invoice_id}/revoke", "RevokeInvoice", INVOICES,
             "Revoke an invoice not yet sent to the tax platform"),
    Route(method="GET", path="/v1/invoices/{invoice_id}/consumption-records.csv",
          service="invoice", action="invoice:DescribeInvoiceDetail",
          resource=INVOICES, summary="The consumption records an invoice draws on, as CSV"),
    Route(method="GET", path="/v1/invoices/{invoice_id}/documents/{fmt}", service="invoice",
          action="invoice:DownloadInvoice", resource=INVOICES,
          summary="Download an issued invoice (PDF, XML, OFD)"),
    Route(method="PUT", path="/v1/operator/accounts/{target_uin}/legacy-amount",
          service="invoice", action="invoice:SetLegacyInvoiceableAmount",
          resource="qcs::invoice::uin/{target_uin}:record/*",
          callers=frozenset({"operator"}),
          summary="Operator: set an account's legacy remaining invoiceable amount"),
]
ROUTES += RETURNS_ROUTES + AUTOINVOICING_ROUTES
