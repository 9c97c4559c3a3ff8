"""Building blocks of invoice-svc's route table (invoice_svc.routes): the API 3.0 version, the
CAM resource templates, and a constructor for customer actions."""

from __future__ import annotations

from kit.routes import Api3Action, Method, Route

VERSION = "2026-11-01"

RECORDS = "qcs::invoice::uin/{uin}:record/*"
TITLES = "qcs::invoice::uin/{uin}:title/*"
APPLICATIONS = "qcs::invoice::uin/{uin}:application/*"
INVOICES = "qcs::invoice::uin/{uin}:invoice/*"


def invoice_action(method: Method, path: str, action: str, resource: str, summary: str) -> Route:
    return Route(method=method, path=path, service="invoice", action=f"invoice:{action}",
                 resource=resource, api3=Api3Action("invoice", VERSION, action),
                 summary=summary)
