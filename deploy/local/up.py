"""Distributed mode on one machine (`make up`): each service and the gateway in its own process,
against PostgreSQL (one database per service, created if missing and migrated before start) and
RabbitMQ. Configured by environment variables with localhost defaults; Ctrl-C stops everything.

Secrets it needs (the gateway's signing key, iam-svc's key-encryption key) are generated on
first use into var/up-secrets.json (mode 0600, git-ignored) unless given in the environment.

Environment (all optional): PG_URL (server URL without database,
default postgresql+asyncpg://root@127.0.0.1:5432), AMQP_URL, GATEWAY_PORT (8000),
DB_PREFIX (prefix for the database names, default ""), and any per-service variable
(`IAM_*`, `INVOICE_*`, ...) which is passed through.

The tax platform invoice-svc issues on is the simulated one, run as its own process on
SERVICE_BASE_PORT + 4 (it keeps its invoices in memory while `make up` runs, so restarting
invoice-svc alone never issues anything twice); INVOICE_TAX_PLATFORM overrides it.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from kit.db import ensure_postgres_database
from kit.identity import generate_keypair
from kit.migrations import upgrade_to_head

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"iam": 8101, "invoice": 8102, "contract": 8103, "esign": 8104}


def load_or_create_secrets(path: Path) -> dict[str, str]:
    """Keys this machine's distributed mode needs, made once and kept outside git (0600):
    SecretKeys stored by iam-svc must stay decryptable across restarts."""
    if path.exists():
        return json.loads(path.read_text())
    private_key, public_key = generate_keypair()
    values = {"gateway_private_key": private_key, "gateway_public_key": public_key,
              "iam_key_encryption_key": base64.b64encode(secrets.token_bytes(32)).decode()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(values, out)
    return values


def _wait_ready(url: str, seconds: float,
                processes: list[subprocess.Popen[bytes]]) -> tuple[bool, str]:
    """Poll ``url`` until it answers 200; else (False, why): a process that exited, or the
    last answer or error (a not-ready ``/readyz`` names the failing checks)."""
    deadline = time.monotonic() + seconds
    last = "no answer yet"
    while time.monotonic() < deadline:
        exited = [p.args for p in processes if p.poll() is not None]
        if exited:
            return False, f"a process exited: {exited[0]}"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return True, ""
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read(2000).decode(errors='replace')}"
        except (urllib.error.URLError, OSError) as exc:
            last = repr(exc)
        time.sleep(0.3)
    return False, f"not ready after {seconds:g} s; last answer: {last}"


def main() -> int:
    pg = os.environ.get("PG_URL", "postgresql+asyncpg://root@127.0.0.1:5432")
    amqp = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    prefix = os.environ.get("DB_PREFIX", "")
    gateway_port = int(os.environ.get("GATEWAY_PORT", "8000"))
    base_port = int(os.environ.get("SERVICE_BASE_PORT", "8101"))
    ports = {name: base_port + i for i, name in enumerate(SERVICES)}
    secrets_file = Path(os.environ.get("SECRETS_FILE", ROOT / "var" / "up-secrets.json"))
    local = load_or_create_secrets(secrets_file)
    private_key, public_key = local["gateway_private_key"], local["gateway_public_key"]
    env = dict(os.environ)
    for name in SERVICES:
        upper = name.upper()
        env.setdefault(f"{upper}_DATABASE_URL", f"{pg}/{prefix}{name}_svc")
        env.setdefault(f"{upper}_AMQP_URL", amqp)
        env.setdefault(f"{upper}_GATEWAY_PUBLIC_KEY", public_key)
        env[f"GATEWAY_{upper}_URL"] = f"http://127.0.0.1:{ports[name]}"
    env.setdefault("GATEWAY_ASSERTION_PRIVATE_KEY", private_key)
    env.setdefault("GATEWAY_AMQP_URL", amqp)
    env.setdefault("IAM_KEY_ENCRYPTION_KEY", local["iam_key_encryption_key"])
    tax_platform_port = base_port + len(SERVICES)
    simulate_platform = "INVOICE_TAX_PLATFORM" not in env
    env.setdefault("INVOICE_TAX_PLATFORM", f"http://127.0.0.1:{tax_platform_port}")

    for name in SERVICES:
        url = env[f"{name.upper()}_DATABASE_URL"]
        main_module = importlib.import_module(f"{name}_svc.main")
        asyncio.run(ensure_postgres_database(url))
        upgrade_to_head(main_module.MIGRATIONS_DIR, url)
        print(f"{name}-svc: database {url.rsplit('/', 1)[-1]} migrated to head", flush=True)

    processes: list[subprocess.Popen[bytes]] = []
    if simulate_platform:
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "invoice_svc.taxplatform.server",
             "--port", str(tax_platform_port)], env=env, cwd=ROOT))
    for name in SERVICES:
        processes.append(subprocess.Popen(
            [sys.executable, "-m", f"{name}_svc", "serve", "--port", str(ports[name])],
            env=env, cwd=ROOT))
    processes.append(subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(gateway_port)],
        env=env, cwd=ROOT))

    def stop(*_: object) -> None:
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, lambda *_: stop())
    base = f"http://127.0.0.1:{gateway_port}"
    try:
        ready, why = _wait_ready(f"{base}/readyz", 180, processes)
        if not ready:
            print(f"error: the system did not become ready ({why}); see the logs above",
                  file=sys.stderr, flush=True)
            stop()
            return 1
        print(f"""
Invoices and Contracts, distributed mode
  gateway     {base}   (readiness {base}/readyz)
  services    {", ".join(f"{n}-svc :{p}" for n, p in ports.items())} (reachable only with a
              gateway-signed identity assertion)
  databases   {", ".join(f"{prefix}{n}_svc" for n in SERVICES)} on {pg}
  broker      {amqp.split('@')[-1]} exchange billing.events
  tax platform {env["INVOICE_TAX_PLATFORM"]}{" (simulated)" if simulate_platform else ""}
Press Ctrl-C to stop.""", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        print("a process exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut shutdown short
        stop()
        for p in processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        print("distributed system stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
