"""esign-svc.

stand-in for the e-sign provider: files, flows, approvers, seals, SMS outbox.
"""

from pathlib import Path

from fastapi import FastAPI
from kit.clock import Clock
from kit.messaging.transport import Bus
from kit.service import build_service_app

from esign_svc.config import Settings
from esign_svc.db import metadata

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
VERSION = "0.1.0"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None,
               clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    return build_service_app(
        settings, title="esign-svc", version=VERSION, description=__doc__ or "",
        metadata=metadata, migrations_dir=MIGRATIONS_DIR, bus=bus, clock=clock,
    )
