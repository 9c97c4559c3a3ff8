"""The gateway's routes of autoinvoicing (added to invoice_svc.routes.ROUTES)."""

from __future__ import annotations

from kit.routes import Route

from invoice_svc.common.routing import APPLICATIONS, invoice_action

ROUTES: list[Route] = [
    invoice_action("GET", "/v1/auto-invoice-setting", "DescribeAutoInvoiceSetting",
                   APPLICATIONS, "Monthly auto-invoicing setting, pending change, history"),
    invoice_action("PUT", "/v1/auto-invoice-setting", "ModifyAutoInvoiceSetting",
                   APPLICATIONS, "Turn monthly auto-invoicing on or off"),
    # REST only: the runs are part of describing the setting (same CAM action).
    Route(method="GET", path="/v1/auto-invoice-runs", service="invoice",
          action="invoice:DescribeAutoInvoiceSetting", resource=APPLICATIONS,
          summary="Monthly auto-invoicing runs: month, outcome, application, notice"),
]
