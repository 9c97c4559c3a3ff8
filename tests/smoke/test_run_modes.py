"""The README's commands do what they say: `make run` (embedded) and `make up` (distributed)
start the whole system, every service answers ready through the gateway, and Ctrl-C stops
everything cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from kit.db import drop_postgres_database

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("iam", "invoice", "contract", "esign")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait_ready(url: str, process: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the system exited before becoming ready:\n{output[-3000:]}")
        try:
            if get_json(url)[0] == 200:
                return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready within {seconds}s")


def ctrl_c(process: subprocess.Popen[str]) -> str:
    """What a terminal does on Ctrl-C: SIGINT to the whole foreground process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    return output


def assert_all_ready_through_gateway(base: str) -> None:
    status, body = get_json(f"{base}/readyz")
    assert status == 200 and body["status"] == "ready"
    assert set(body["services"]) == set(SERVICES)
    for name in SERVICES:
        status, body = get_json(f"{base}/services/{name}/readyz")
        assert status == 200
        assert body["checks"] == {"database": True, "migrations": True, "broker": True}


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def test_make_run_starts_embedded_system_ready_and_stops_cleanly(tmp_path: Path):
    port = free_port()
    process = start(["make", "--no-print-directory", "run", f"PORT={port}"],
                    {"VAR_DIR": str(tmp_path / "var")})
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, 120)
        assert_all_ready_through_gateway(f"http://127.0.0.1:{port}")
    finally:
        output = ctrl_c(process)
    assert "embedded mode" in output
    assert "embedded system stopped" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert {p.name for p in (tmp_path / "var").iterdir()} >= {f"{s}.db" for s in SERVICES}


@pytest.fixture
def db_prefix():
    prefix = f"t_up_{uuid.uuid4().hex[:8]}_"
    yield prefix
    import asyncio

    async def drop() -> None:
        for name in SERVICES:
            await drop_postgres_database(
                f"postgresql+asyncpg://root@127.0.0.1:5432/{prefix}{name}_svc")

    asyncio.run(drop())


def test_make_up_starts_distributed_system_ready_and_stops_cleanly(db_prefix: str,
                                                                   tmp_path: Path):
    gateway_port, base_port = free_port(), free_port()
    secrets_file = tmp_path / "up-secrets.json"
    process = start(["make", "--no-print-directory", "up"], {
        "DB_PREFIX": db_prefix, "GATEWAY_PORT": str(gateway_port),
        "SERVICE_BASE_PORT": str(base_port), "SECRETS_FILE": str(secrets_file)})
    try:
        wait_ready(f"http://127.0.0.1:{gateway_port}/readyz", process, 180)
        assert_all_ready_through_gateway(f"http://127.0.0.1:{gateway_port}")
    finally:
        output = ctrl_c(process)
    assert "distributed mode" in output
    for name in SERVICES:
        assert f"{name}-svc: database {db_prefix}{name}_svc migrated to head" in output
    assert "distributed system stopped" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert secrets_file.stat().st_mode & 0o777 == 0o600
