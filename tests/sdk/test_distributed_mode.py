"""Distributed mode: each service and the gateway as its own process, on PostgreSQL (one new
database per service) and RabbitMQ (exchanges and the gateway's queue unique to this run),
driven by the official SDK. Cache invalidation crosses processes through the broker."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import httpx
import pytest
from kit.db import drop_postgres_database
from kit.identity import generate_keypair
from kit.testing import AMQP_URL, PG_BASE, free_port, new_name_prefix, rabbitmqctl

from .conftest import Console, Key, eventually, sdk_error

SERVICES = {"iam": "IAM", "invoice": "INVOICE", "contract": "CONTRACT", "esign": "ESIGN"}
READ_USERS = {"version": "2.0", "statement": [
    {"effect": "allow", "action": ["cam:ListUsers", "cam:GetUser"], "resource": "*"}]}


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, module: str, port: int, env: dict[str, str]) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", module, "serve", "--port", str(port)],
            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        self.running.append((name, process))

    def tails(self) -> str:
        return "\n".join(f"--- {name}\n" + (self.logs / f"{name}.log").read_text()[-3000:]
                         for name, _ in self.running)

    def stop(self) -> None:
        for _, process in self.running:
            process.terminate()
        for _, process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_ready(url: str, processes: Processes, within: float = 90) -> None:
    """Poll the gateway's /readyz (which asks every service) until it says ready."""
    deadline = time.monotonic() + within
    pause = threading.Event()
    last = ""
    while time.monotonic() < deadline:
        for name, process in processes.running:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited\n{processes.tails()}")
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200:
                return
            last = answer.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        pause.wait(0.2)
    raise TimeoutError(f"not ready: {last}\n{processes.tails()}")


async def remove_broker_objects(exchanges: list[str], prefix: str) -> None:
    """Delete this run's exchanges and its queues: those named with its prefix (through each
    service's `<SVC>_QUEUE_PREFIX`) and any other queue bound to its exchanges (a service
    without that setting), with their dead-letter queues. A queue left behind with this run's
    dead-letter exchange would refuse every later declaration with the default one."""
    listed = await asyncio.to_thread(rabbitmqctl, "list_bindings", "--quiet",
                                     "--no-table-headers", "source_name", "destination_name",
                                     "destination_kind")
    queues = set()
    for line in listed.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2] == "queue" and (
                parts[0] in exchanges or parts[1].startswith(prefix)):
            queues.add(parts[1].removesuffix(".dlq"))
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        for name in sorted(queues):
            await channel.queue_delete(name)
            await channel.queue_delete(f"{name}.dlq")
        for name in exchanges:
            await channel.exchange_delete(name)
    finally:
        await connection.close()


@dataclass(frozen=True)
class System:
    """A running distributed system: the gateway's address, the demo root key, the run's
    exchanges (to publish billing-core events to)."""

    host: str
    demo: Key
    exchange: str
    dlx: str


@contextlib.contextmanager
def distributed_system(workdir: Path, gateway_env: dict[str, str] | None = None
                       ) -> Iterator[System]:
    """Every service and the gateway as its own process on fresh PostgreSQL databases and
    this run's own exchanges and queues; everything removed afterwards."""
    prefix = new_name_prefix() + "."  # swept with this session's queues if left behind
    tag = prefix[1:-1]
    exchange, dlx, queue = f"{prefix}events", f"{prefix}dlx", f"{prefix}gateway.invalidation"
    private, public = generate_keypair()
    demo = Key("AKID" + secrets.token_hex(16), secrets.token_hex(16))
    databases = {name: f"{PG_BASE}/t_{name}_{tag}" for name in SERVICES}
    ports = {name: free_port() for name in [*SERVICES, "gateway"]}
    processes = Processes(workdir)
    try:
        for name, env_prefix in SERVICES.items():
            settings = {"DATABASE_URL": databases[name], "AUTO_MIGRATE": "true",
                        "GATEWAY_PUBLIC_KEY": public, "AMQP_URL": AMQP_URL,
                        "EVENTS_EXCHANGE": exchange, "DLX_EXCHANGE": dlx,
                        "RELAY_POLL_SECONDS": "0.5", "LOG_LEVEL": "WARNING",
                        "QUEUE_PREFIX": prefix}
            env = {f"{env_prefix}_{key}": value for key, value in settings.items()}
            if name == "iam":
                env.update(IAM_KEY_ENCRYPTION_KEY=base64.b64encode(os.urandom(32)).decode(),
                           IAM_CREATE_DEMO_ACCOUNT="true", IAM_DEMO_SECRET_ID=demo.secret_id,
                           IAM_DEMO_SECRET_KEY=demo.secret_key)
            processes.start(name, f"{name}_svc", ports[name], env)
        processes.start("gateway", "gateway", ports["gateway"], {
            **{f"GATEWAY_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}"
               for name in SERVICES},
            "GATEWAY_ASSERTION_PRIVATE_KEY": private, "GATEWAY_AMQP_URL": AMQP_URL,
            "GATEWAY_EVENTS_EXCHANGE": exchange, "GATEWAY_DLX_EXCHANGE": dlx,
            "GATEWAY_INVALIDATION_QUEUE": queue, "GATEWAY_LOG_LEVEL": "WARNING",
            **(gateway_env or {})})
        host = f"127.0.0.1:{ports['gateway']}"
        wait_ready(f"http://{host}/readyz", processes)
        yield System(host, demo, exchange, dlx)
    finally:
        processes.stop()
        asyncio.run(remove_broker_objects([exchange, dlx], prefix))
        for url in databases.values():
            asyncio.run(drop_postgres_database(url))


@pytest.fixture(scope="module")
def distributed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with distributed_system(tmp_path_factory.mktemp("distributed")) as system:
        yield Console(system.host, system.demo)


def test_distributed_successful_call_and_wrong_key(distributed: Console):
    response = distributed.cam(distributed.demo, "ListUsers")
    assert "Error" not in response and response["RequestId"]
    wrong = Key(distributed.demo.secret_id, "0" * 32)
    assert sdk_error(lambda: distributed.cam(wrong, "ListUsers")).code == \
        "AuthFailure.SignatureFailure"
    unknown = Key("AKID" + "0" * 32, "0" * 32)
    assert sdk_error(lambda: distributed.cam(unknown, "ListUsers")).code == \
        "AuthFailure.SecretIdNotFound"


def test_distributed_cam_req_2_policy_attached_applies_without_restart(distributed: Console):
    """CAM-REQ-2 across processes: iam.policy.changed reaches the gateway through RabbitMQ."""
    root = distributed.demo
    _, sub_uin = distributed.new_sub_user(root)
    key = distributed.new_key(root, sub_uin)
    error = sdk_error(lambda: distributed.cam(key, "ListUsers"))
    assert error.code == "AuthFailure.UnauthorizedOperation"
    distributed.attach(root, distributed.new_policy(root, READ_USERS), sub_uin)
    assert "Error" not in eventually(lambda: distributed.cam(key, "ListUsers"))


def test_distributed_disabled_key_is_refused_without_restart(distributed: Console):
    key = distributed.new_key(distributed.demo)
    assert "Error" not in distributed.cam(key, "ListUsers")
    distributed.cam(distributed.demo, "UpdateAccessKey", {"AccessKeyId": key.secret_id,
                                                          "Status": "Inactive"})

    def refused() -> None:
        assert sdk_error(lambda: distributed.cam(key, "ListUsers")).code == \
            "AuthFailure.SecretIdNotFound"

    eventually(refused)


def test_distributed_get_with_flattened_parameters(distributed: Console):
    root = distributed.demo
    first = distributed.new_policy(root, READ_USERS)
    second = distributed.new_policy(root, READ_USERS)
    client = distributed.client(root, profile=distributed.profile(reqMethod="GET"))
    assert "Error" not in client.call_json("DeletePolicy",
                                           {"PolicyId": [first, second]})["Response"]
    listed = distributed.cam(root, "ListPolicies", {"Rp": 200})["List"]
    assert not {first, second} & {p["PolicyId"] for p in listed}
