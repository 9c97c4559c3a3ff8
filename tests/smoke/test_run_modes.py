"""The README's commands do what they say: `make run` (embedded) and `make up` (distributed)
start the whole system, every service answers ready through the gateway, and Ctrl-C stops
everything cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from kit.db import drop_postgres_database
from kit.testing import free_port, free_port_range

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("iam", "invoice", "contract", "esign")


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class Console:
    """Everything the started command prints, collected by a reader thread, so a test can
    wait for a line (the banner is printed after the launcher's own readiness poll, which
    may see the system ready later than the test does)."""

    def __init__(self, process: subprocess.Popen[str]):
        self.process = process
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for(self, needle: str, seconds: float) -> None:
        with self._changed:
            self._changed.wait_for(
                lambda: needle in "".join(self._lines) or not self._reader.is_alive(),
                timeout=seconds)
            output = "".join(self._lines)
        if needle not in output:
            state = "exited" if self.process.poll() is not None else "still running"
            errors = [line for line in output.splitlines()
                      if line.startswith("error") or '"level":"ERROR"' in line
                      or '"level":"WARNING"' in line][:20]
            raise AssertionError(
                f"{needle!r} not printed within {seconds}s (process {state}); errors and "
                f"warnings:\n" + "\n".join(errors) + f"\n... last output:\n{output[-3000:]}")

    def stop_with_ctrl_c(self) -> str:
        """What a terminal does on Ctrl-C: SIGINT to the whole foreground process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return self.text


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
    console = Console(process)
    try:
        console.wait_for("Press Ctrl-C to stop.", 120)
        assert "embedded mode" in console.text
        assert_all_ready_through_gateway(f"http://127.0.0.1:{port}")
    finally:
        output = console.stop_with_ctrl_c()
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
    # the gateway, then the four services and the simulated tax platform on base..base+4
    gateway_port = free_port_range(6)
    base_port = gateway_port + 1
    secrets_file = tmp_path / "up-secrets.json"
    process = start(["make", "--no-print-directory", "up"], {
        "DB_PREFIX": db_prefix, "GATEWAY_PORT": str(gateway_port),
        "SERVICE_BASE_PORT": str(base_port), "SECRETS_FILE": str(secrets_file)})
    console = Console(process)
    try:
        console.wait_for("Press Ctrl-C to stop.", 200)
        assert "distributed mode" in console.text
        assert_all_ready_through_gateway(f"http://127.0.0.1:{gateway_port}")
    finally:
        output = console.stop_with_ctrl_c()
    for name in SERVICES:
        assert f"{name}-svc: database {db_prefix}{name}_svc migrated to head" in output
    assert "distributed system stopped" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert secrets_file.stat().st_mode & 0o777 == 0o600
