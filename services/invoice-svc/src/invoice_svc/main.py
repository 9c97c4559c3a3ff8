"""invoice-svc.

consumption ledger, invoice titles, invoice applications, issuing, returns, auto-invoicing.
"""

from pathlib import Path

from fastapi import FastAPI
from kit.clock import Clock, SystemClock
from kit.messaging.transport import Bus
from kit.service import BackgroundWorker, Runtime, build_service_app

from invoice_svc import models
from invoice_svc.accounts import handlers as account_handlers
from invoice_svc.applications.router import router as applications_router
from invoice_svc.autoinvoicing.router import router as autoinvoicing_router
from invoice_svc.autoinvoicing.scheduler import autoinvoicing_scheduler
from invoice_svc.config import Settings
from invoice_svc.issuing.worker import IssuingWorker
from invoice_svc.ledger import handlers as ledger_handlers
from invoice_svc.ledger.router import router as ledger_router
from invoice_svc.mail import handlers as mail_handlers
from invoice_svc.records.router import router as records_router
from invoice_svc.returns.router import router as returns_router
from invoice_svc.returns.worker import returns_worker
from invoice_svc.taxplatform.shared import platform_for
from invoice_svc.titles.router import router as titles_router

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
VERSION = "0.1.0"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None,
               clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or SystemClock()
    return build_service_app(
        settings, title="invoice-svc", version=VERSION, description=__doc__ or "",
        metadata=models.metadata, migrations_dir=MIGRATIONS_DIR, bus=bus, clock=clock,
        routers=[ledger_router, titles_router, applications_router, records_router,
                 returns_router, autoinvoicing_router],
        subscriptions=[ledger_handlers.subscription(settings, clock),
                       account_handlers.subscription(clock),
                       mail_handlers.subscription(settings, clock)],
        workers=[issuing_worker(settings), returns_worker(settings),
                 autoinvoicing_scheduler(settings)] if settings.run_issuing else [],
    )


def issuing_worker(settings: Settings):  # type: ignore[no-untyped-def]
    def make(runtime: Runtime) -> BackgroundWorker:
        platform = platform_for(runtime, settings)
        return IssuingWorker(runtime.db, runtime.outbox, platform, settings, runtime.clock,
                             runtime.registry)
    return make
