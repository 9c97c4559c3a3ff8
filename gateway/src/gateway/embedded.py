"""Embedded mode: the gateway and all four services in one process, one port, SQLite files
under `var/`, the in-process bus. Zero set-up; for trying the system and for fast tests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import contract_svc.config
import contract_svc.main
import esign_svc.config
import esign_svc.main
import iam_svc.config
import iam_svc.main
import invoice_svc.config
import invoice_svc.main
import uvicorn
from fastapi import FastAPI
from kit.messaging import InProcessBus

from gateway.config import Settings as GatewaySettings
from gateway.main import create_app as create_gateway
from gateway.upstreams import AsgiUpstream

log = logging.getLogger("gateway.embedded")


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT after serving, which would skip our own shutdown; here a
    signal only asks the server to exit, and the services then stop in order."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def,override]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

SERVICES = {
    "iam": (iam_svc.config.Settings, iam_svc.main.create_app),
    "invoice": (invoice_svc.config.Settings, invoice_svc.main.create_app),
    "contract": (contract_svc.config.Settings, contract_svc.main.create_app),
    "esign": (esign_svc.config.Settings, esign_svc.main.create_app),
}


@dataclass
class EmbeddedSystem:
    var_dir: Path
    bus: InProcessBus = field(default_factory=InProcessBus)
    services: dict[str, FastAPI] = field(default_factory=dict)
    gateway: FastAPI | None = None

    def build(self) -> FastAPI:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        for name, (settings_cls, create_app) in SERVICES.items():
            settings = settings_cls(
                database_url=f"sqlite+aiosqlite:///{self.var_dir / (name + '.db')}",
                bus="inprocess", auto_migrate=True,
            )
            self.services[name] = create_app(settings, bus=self.bus)
        self.gateway = create_gateway(
            GatewaySettings(),
            upstreams={name: AsgiUpstream(app) for name, app in self.services.items()},
        )
        return self.gateway

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FastAPI]:
        gateway = self.gateway or self.build()
        await self.bus.connect()
        async with contextlib.AsyncExitStack() as stack:
            for app in self.services.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            await stack.enter_async_context(gateway.router.lifespan_context(gateway))
            try:
                yield gateway
            finally:
                await self.bus.close()


async def serve(host: str, port: int, var_dir: Path) -> None:
    system = EmbeddedSystem(var_dir)
    async with system.running() as gateway:
        config = uvicorn.Config(gateway, host=host, port=port, lifespan="off", log_config=None,
                                access_log=False, timeout_graceful_shutdown=5)
        server = _Server(config)
        base = f"http://{host}:{port}"
        print(f"""
Invoices and Contracts, embedded mode
  gateway        {base}
  readiness      {base}/readyz
  services       {base}/services/{{iam,invoice,contract,esign}}/readyz
  API documents  {base}/services/{{iam,invoice,contract,esign}}/openapi.json
  data           {var_dir}/*.db (SQLite), in-process event bus
Press Ctrl-C to stop.""", flush=True)
        await server.serve()
    print("embedded system stopped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="billing-embedded")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--var-dir", type=Path, default=Path(os.environ.get("VAR_DIR", "var")))
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.var_dir.resolve()))


if __name__ == "__main__":
    main()
