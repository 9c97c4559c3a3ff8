"""invoice-svc.

consumption ledger, invoice titles, invoice applications, issuing, returns, auto-invoicing.
"""

from pathlib import Path

from fastapi import FastAPI
from kit.clock import Clock
from kit.messaging.transport import Bus
from kit.service import build_service_app

from invoice_svc.config import Settings
from invoice_svc.db import metadata

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
VERSION = "0.1.0"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None,
               clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    return build_service_app(
        settings, title="invoice-svc", version=VERSION, description=__doc__ or "",
        metadata=metadata, migrations_dir=MIGRATIONS_DIR, bus=bus, clock=clock,
    )
