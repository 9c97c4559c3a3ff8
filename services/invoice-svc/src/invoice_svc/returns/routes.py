"""The gateway's routes of returns (added to invoice_svc.routes.ROUTES).

Customer actions are in iam-svc's invoice presets: `invoice:ReturnInvoice` (submit a return,
give the red-letter form number) and `invoice:DescribeInvoiceDetail` (read return state).
Operator actions are for `operator` callers only, with no API 3.0 name (like the legacy-amount
route in invoice_svc.routes); they need no preset.
"""

from __future__ import annotations

from kit.routes import Route

from invoice_svc.common.routing import INVOICES
from invoice_svc.common.routing import invoice_action as _invoice


def _operator(path: str, action: str, summary: str) -> Route:
    return Route(method="POST", path=path, service="invoice", action=f"invoice:{action}",
                 resource="qcs::invoice::uin/*:invoice/*", callers=frozenset({"operator"}),
                 api3=None, summary=summary)


ROUTES: list[Route] = [
    _invoice("POST", "/v1/invoices/{invoice_id}/returns", "ReturnInvoice", INVOICES,
             "Submit a return (退票) of an invoice; it cannot be withdrawn"),
    Route(method="POST", path="/v1/invoices/{invoice_id}/returns/red-form", service="invoice",
          action="invoice:ReturnInvoice", resource=INVOICES,
          summary="Give the red-letter form number (红字确认单号) of a return"),
    Route(method="GET", path="/v1/invoices/{invoice_id}/returns", service="invoice",
          action="invoice:DescribeInvoiceDetail", resource=INVOICES,
          summary="An invoice's returns: plan dates, form state, red invoice"),
    Route(method="GET", path="/v1/invoices/{invoice_id}/lost-invoice-remedy", service="invoice",
          action="invoice:DescribeInvoiceDetail", resource=INVOICES,
          summary="What to do about a lost invoice (INV-REQ-26)"),
    _operator("/v1/operator/invoices/{invoice_id}/returns/approve", "ApproveInvoiceReturn",
              "Operator: a paper return passed review"),
    _operator("/v1/operator/invoices/{invoice_id}/returns/reject", "RejectInvoiceReturn",
              "Operator: reject a return with a reason"),
    _operator("/v1/operator/invoices/{invoice_id}/returns/complete", "CompleteInvoiceReturn",
              "Operator: complete a legacy electronic or paper return"),
]
