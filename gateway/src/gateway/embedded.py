"""Embedded mode: the gateway and all four services in one process, one port, SQLite files
under `var/`, the in-process bus. Zero set-up; for trying the system and for fast tests.

At start: a fresh Ed25519 keypair for caller assertions (the public half goes to every
service), and the demo account's API key, generated once and kept in
`var/demo-credentials.json` so the printed credentials stay valid across restarts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import string
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from kit.identity import generate_keypair
from kit.messaging import InProcessBus, QueueSpec

from gateway.config import Settings as GatewaySettings
from gateway.invalidation import KEY_CHANGED, POLICY_CHANGED
from gateway.main import Gateway
from gateway.main import create_app as create_gateway
from gateway.upstreams import AsgiUpstream

log = logging.getLogger("gateway.embedded")


class _Server(uvicorn.Server):
    """Signals are handled by `serve` for the whole run (start-up and shutdown included), not
    only while uvicorn serves: Ctrl-C reaches this process twice (from the terminal and again
    through `uv run`), and a second one during shutdown must not interrupt the services'
    orderly stop.

    `on_listening` runs once the socket is bound, so the banner appears only when the
    addresses it prints answer."""

    on_listening: Callable[[], None] = staticmethod(lambda: None)

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def,override]
        yield

    async def startup(self, sockets=None):  # type: ignore[no-untyped-def,override]
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self.on_listening()


SERVICES = {
    "iam": (iam_svc.config.Settings, iam_svc.main.create_app),
    "invoice": (invoice_svc.config.Settings, invoice_svc.main.create_app),
    "contract": (contract_svc.config.Settings, contract_svc.main.create_app),
    "esign": (esign_svc.config.Settings, esign_svc.main.create_app),
}

_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class DemoCredentials:
    secret_id: str
    secret_key: str

    @classmethod
    def load_or_create(cls, path: Path) -> DemoCredentials:
        if path.exists():
            data = json.loads(path.read_text())
            return cls(data["secret_id"], data["secret_key"])
        made = cls("AKID" + "".join(secrets.choice(_ALNUM) for _ in range(32)),
                   "".join(secrets.choice(_ALNUM) for _ in range(32)))
        path.write_text(json.dumps({"secret_id": made.secret_id, "secret_key": made.secret_key}))
        path.chmod(0o600)
        return made


@dataclass
class EmbeddedSystem:
    var_dir: Path
    gateway_settings: GatewaySettings | None = None
    service_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    bus: InProcessBus = field(default_factory=InProcessBus)
    services: dict[str, FastAPI] = field(default_factory=dict)
    gateway: Gateway | None = None
    demo: DemoCredentials | None = None

    def build(self) -> Gateway:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        private_key, public_key = generate_keypair()
        self.demo = DemoCredentials.load_or_create(self.var_dir / "demo-credentials.json")
        for name, (settings_cls, create_app) in SERVICES.items():
            values: dict[str, Any] = {
                "database_url": f"sqlite+aiosqlite:///{self.var_dir / (name + '.db')}",
                "bus": "inprocess", "auto_migrate": True, "gateway_public_key": public_key,
            }
            if name == "iam":
                values.update(create_demo_account=True, demo_secret_id=self.demo.secret_id,
                              demo_secret_key=self.demo.secret_key)
            values.update(self.service_overrides.get(name, {}))
            known = {k: v for k, v in values.items() if k in settings_cls.model_fields}
            self.services[name] = create_app(settings_cls(**known), bus=self.bus)
        settings = (self.gateway_settings or GatewaySettings()).model_copy(
            update={"assertion_private_key": private_key})
        self.gateway = create_gateway(
            settings, bus=self.bus,
            upstreams={name: AsgiUpstream(app, timeout=settings.upstream_timeout_seconds)
                       for name, app in self.services.items()},
        )
        return self.gateway

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Gateway]:
        gateway = self.gateway or self.build()
        settings: GatewaySettings = gateway.state.settings
        await self.bus.connect()
        # The gateway's queue exists before any service publishes, so no change is missed.
        await self.bus.declare(QueueSpec(settings.invalidation_queue,
                                         (KEY_CHANGED, POLICY_CHANGED)))
        try:
            async with contextlib.AsyncExitStack() as stack:
                for app in self.services.values():
                    await stack.enter_async_context(app.router.lifespan_context(app))
                await stack.enter_async_context(gateway.lifespan())
                yield gateway
        finally:
            await self.bus.close()


async def serve(host: str, port: int, var_dir: Path) -> None:
    """Run until SIGINT/SIGTERM. The handlers stay installed from start-up to the end of
    shutdown, so a repeated Ctrl-C only repeats the request to stop."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    servers: list[_Server] = []

    def on_signal(sig: int) -> None:
        stop_requested.set()
        for running in servers:
            running.handle_exit(sig, None)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        system = EmbeddedSystem(var_dir)
        async with system.running() as gateway:
            config = uvicorn.Config(gateway, host=host, port=port, lifespan="off", log_config=None,
                                    access_log=False, timeout_graceful_shutdown=5,
                                    server_header=False, date_header=False)
            server = _Server(config)
            base = f"http://{host}:{port}"
            assert system.demo is not None
            demo = system.demo
            server.on_listening = lambda: print(f"""
Invoices and Contracts, embedded mode
  gateway        {base}   (REST at /{{iam,invoice,contract,esign}}/..., API 3.0 at /)
  readiness      {base}/readyz
  services       {base}/services/{{iam,invoice,contract,esign}}/readyz
  API documents  {base}/services/{{iam,invoice,contract,esign}}/openapi.json
  data           {var_dir}/*.db (SQLite), in-process event bus
  demo account   SecretId  {demo.secret_id}
                 SecretKey {demo.secret_key}
                 (kept in {var_dir}/demo-credentials.json; sign with TC3-HMAC-SHA256,
                  e.g. tencentcloud-sdk-python's CommonClient with endpoint {host}:{port})
Press Ctrl-C to stop.""", flush=True)
            servers.append(server)
            if not stop_requested.is_set():  # Ctrl-C during start-up: stop right away
                await server.serve()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
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
