"""The gateway's view of invoice-svc (ROUTES) matches what the service serves."""

from __future__ import annotations

from iam_svc.policies.presets import INVOICE_ACTIONS
from invoice_svc.config import Settings
from invoice_svc.main import create_app
from invoice_svc.routes import ROUTES

PART_1_ACTIONS = {"DescribeConsumptionRecords", "DescribeMonthlyBills",
                  "DescribeInvoiceableAmount", "CreateInvoiceTitle", "ModifyInvoiceTitle",
                  "DescribeInvoiceTitle", "MatchInvoiceAmount", "PreviewInvoice", "ApplyInvoice"}


def test_every_route_is_served_and_every_customer_operation_is_routed() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite://", bus="inprocess"))
    served = {(method.upper(), path) for path, item in app.openapi()["paths"].items()
              for method in item} - {("GET", "/healthz"), ("GET", "/readyz")}
    routed = {(route.method, route.path) for route in ROUTES}
    assert routed == served


def test_actions_resources_and_api3_names() -> None:
    customer = [r for r in ROUTES if r.callers == frozenset({"customer"})]
    assert {r.api3.action for r in customer if r.api3} >= PART_1_ACTIONS
    for route in customer:
        assert route.service == "invoice" and route.resource.startswith("qcs::invoice::uin/{uin}:")
        if route.api3 is not None:  # downloads (PDF, CSV) are REST only
            assert route.action == f"invoice:{route.api3.action}"
            assert route.api3.service == "invoice" and route.api3.version == "2026-11-01"
    # Every customer action is one the invoice presets of iam-svc know (CAM-REQ-4).
    assert {r.action for r in customer} <= set(INVOICE_ACTIONS)
    operator = [r for r in ROUTES if r.callers == frozenset({"operator"})]
    assert operator and all(r.api3 is None for r in operator)
