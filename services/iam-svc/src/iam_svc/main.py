"""iam-svc.

accounts, real-name verification, sub-users, groups, API keys, CAM policies and decisions.
"""

from pathlib import Path

from fastapi import FastAPI
from kit.clock import Clock
from kit.messaging.transport import Bus
from kit.service import Hook, Runtime, build_service_app

from iam_svc import models
from iam_svc.access_keys.router import router as access_keys_router
from iam_svc.accounts.demo import demo_account_hook
from iam_svc.accounts.router import router as accounts_router
from iam_svc.common.crypto import load_cipher
from iam_svc.common.work import Runner
from iam_svc.config import Settings
from iam_svc.decisions.router import router as decisions_router
from iam_svc.groups.router import router as groups_router
from iam_svc.policies.router import router as policies_router
from iam_svc.policies.service import sync_presets
from iam_svc.users.router import router as users_router

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
VERSION = "0.1.0"


def create_app(settings: Settings | None = None, *, bus: Bus | None = None,
               clock: Clock | None = None) -> FastAPI:
    """Refuses (raises) when the key-encryption key or the demo key settings are unusable."""
    settings = settings or Settings()
    cipher = load_cipher(settings)

    async def seed_presets(runtime: Runtime) -> None:
        await sync_presets(Runner(runtime, cipher))

    hooks: list[Hook] = [seed_presets]
    if settings.demo_account_enabled:
        hooks.append(demo_account_hook(settings, cipher))
    app = build_service_app(
        settings, title="iam-svc", version=VERSION, description=__doc__ or "",
        metadata=models.metadata, migrations_dir=MIGRATIONS_DIR, bus=bus, clock=clock,
        on_startup=hooks,
        routers=[accounts_router, users_router, groups_router, policies_router,
                 access_keys_router, decisions_router],
    )
    app.state.iam_runner = Runner(app.state.runtime, cipher)
    return app
