"""The gateway's routes of returns (added to invoice_svc.routes.ROUTES)."""

from __future__ import annotations

from kit.routes import Route

ROUTES: list[Route] = []
