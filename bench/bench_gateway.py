"""Gateway overhead: the same endpoint called directly and through the gateway, in the same
run, under 32 concurrent connections (wrk), for two endpoints:

* `iam GetUser`: iam-svc's GET /v1/users/{name}, a real endpoint (one PostgreSQL read);
* `echo`: a minimal service endpoint (FastAPI, assertion check, a 100-byte JSON answer, no
  I/O), the worst case for the gateway's share of the cost.

Setup (distributed mode, real processes): iam-svc on a new PostgreSQL database, the echo
service, and one gateway per upstream HTTP client measured, in front of both. A sub-user gets
a policy allowing both actions, and its key signs the requests, so every gateway request pays
the whole path: TC3 signature check, rate limiter, route match, CAM decision from the cached
policies, identity assertion, proxying. The direct calls carry a valid assertion made once
(the service verifies it on every call either way). The gateway runs with its defaults
(access log of errors only, assertions reused per caller) but no rate limit and no broker.

Requests are signed once per wrk run (TC3 allows 300 s; assertions live 60 s), so a run lasts
well under a minute. Runs alternate direct/gateway; the figures are medians. `ratio` divides
the medians; `paired_ratio` is the median of each round's gateway/direct ratio (less moved by
load that comes and goes between rounds); the load average is recorded with every run.

Each gateway is served by `gateway.server.run`, as `python -m gateway serve` serves it (one
process; `BENCH_GATEWAY_SERVER_OPTIONS`, a JSON object of uvicorn settings, overrides them
for experiments).

Run: `uv run python bench/bench_gateway.py [--seconds 10] [--rounds 3] [--clients raw,aiohttp]`
Needs `wrk` (Debian: `apt-get install wrk`) and PostgreSQL. Other load on the machine skews
the ratio (all processes share its cores): run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from kit import tc3
from kit.db import drop_postgres_database
from kit.identity import AssertionSigner, Caller, generate_keypair
from kit.routes import Route
from kit.testing import free_port
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

RESULTS = Path(__file__).parent / "results"
PG = os.environ.get("TEST_PG_URL", "postgresql+asyncpg://root@127.0.0.1:5432")
CONNECTIONS = 32


ECHO_ROUTE = Route("GET", "/v1/echo/{item}", "echo", "bench:Echo",
                   resource="qcs::bench::uin/{uin}:item/{item}")


def serve_echo(port: int) -> None:
    """The minimal service: what every service does per request (assertion), nothing else."""
    import uvicorn
    from fastapi import Depends, FastAPI
    from kit.http import JsonResponse
    from kit.identity import AssertionVerifier, current_caller

    app = FastAPI(default_response_class=JsonResponse)
    app.state.assertion_verifier = AssertionVerifier(os.environ["BENCH_PUBLIC_KEY"])

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/echo/{item}")
    async def echo(item: str, caller: Caller = Depends(current_caller)) -> dict[str, object]:
        return {"item": item, "uin": caller.uin, "sub_uin": caller.sub_uin, "status": "ok",
                "amount": "12.34", "lines": [1, 2, 3]}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_gateway(port: int) -> None:
    """The gateway as `python -m gateway serve` runs it (`gateway.server.run`), plus the echo
    route and upstream."""
    from gateway.config import Settings
    from gateway.main import create_app
    from gateway.routes_table import load_service_routes
    from gateway.upstreams import make_http_upstream

    from gateway import server

    settings = Settings()
    upstreams = {name: make_http_upstream(url, client=settings.http_client)
                 for name, url in settings.upstream_urls().items()}
    upstreams["echo"] = make_http_upstream(os.environ["BENCH_ECHO_URL"],
                                           client=settings.http_client)
    app = create_app(settings, upstreams=upstreams,
                     routes=[*load_service_routes(), ECHO_ROUTE])
    server.run(app, host="127.0.0.1", port=port, **json.loads(os.environ.get(
        "BENCH_GATEWAY_SERVER_OPTIONS", "{}")))


def start(name: str, args: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    log = (logs / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, *args], env={**os.environ, **env}, stdout=log,
                            stderr=subprocess.STDOUT)


def wait_http(url: str, process: subprocess.Popen, within: float = 60) -> None:
    deadline = time.monotonic() + within
    pause = threading.Event()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        pause.wait(0.2)
    raise TimeoutError(url)


def wrk(url: str, headers: dict[str, str], seconds: int) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} failed requests\n{out}")

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50_ms": pct("50"), "p99_ms": pct("99"),
            "load1": round(os.getloadavg()[0], 2)}


def setup_sub_user(host: str, demo: tuple[str, str]) -> tuple[str, str, str, str]:
    """A sub-user allowed cam:GetUser and bench:Echo, its key; returns (name, sub_uin,
    secret_id, secret_key)."""
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=host))
    root = CommonClient("cam", "2019-01-16", credential.Credential(*demo), "", profile=profile)

    def call(action: str, params: dict) -> dict:
        return root.call_json(action, params)["Response"]

    name = f"bench{uuid.uuid4().hex[:8]}"
    sub_uin = str(call("AddUser", {"Name": name})["Uin"])
    policy = call("CreatePolicy", {"PolicyName": f"bench{uuid.uuid4().hex[:8]}",
                                   "PolicyDocument": json.dumps({"version": "2.0", "statement": [
                                       {"effect": "allow",
                                        "action": ["cam:GetUser", "bench:Echo"],
                                        "resource": "*"}]})})
    call("AttachUserPolicy", {"PolicyId": policy["PolicyId"], "AttachUin": int(sub_uin)})
    key = call("CreateAccessKey", {"TargetUin": int(sub_uin)})["AccessKey"]
    return name, sub_uin, key["AccessKeyId"], key["SecretAccessKey"]


def run(seconds: int, rounds: int, clients: list[str]) -> dict:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    private, public = generate_keypair()
    demo = ("AKID" + secrets.token_hex(16), secrets.token_hex(16))
    database = f"{PG}/bench_gateway_{uuid.uuid4().hex[:8]}"
    logs = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    iam_port, echo_port = free_port(), free_port()
    script = str(Path(__file__).resolve())
    processes: list[subprocess.Popen] = []
    samples: dict[str, dict[str, list[dict[str, float]]]] = {}
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        iam = start("iam", ["-m", "iam_svc", "serve", "--port", str(iam_port)], {
            "IAM_DATABASE_URL": database, "IAM_AUTO_MIGRATE": "true",
            "IAM_GATEWAY_PUBLIC_KEY": public, "IAM_BUS": "inprocess",
            "IAM_KEY_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
            "IAM_CREATE_DEMO_ACCOUNT": "true", "IAM_DEMO_SECRET_ID": demo[0],
            "IAM_DEMO_SECRET_KEY": demo[1], "IAM_LOG_LEVEL": "WARNING"}, logs)
        echo = start("echo", [script, "--serve", "echo", "--port", str(echo_port)],
                     {"BENCH_PUBLIC_KEY": public}, logs)
        processes += [iam, echo]
        wait_http(f"http://127.0.0.1:{iam_port}/readyz", iam)
        wait_http(f"http://127.0.0.1:{echo_port}/healthz", echo)

        gateways: dict[str, int] = {}
        for client in clients:
            port = free_port()
            gateway = start(f"gateway-{client}", [script, "--serve", "gateway", "--port",
                                                  str(port)], {
                "GATEWAY_IAM_URL": f"http://127.0.0.1:{iam_port}",
                "BENCH_ECHO_URL": f"http://127.0.0.1:{echo_port}",
                "GATEWAY_ASSERTION_PRIVATE_KEY": private, "GATEWAY_BUS": "none",
                "GATEWAY_HTTP_CLIENT": client, "GATEWAY_RATE_LIMIT_RPS": "1000000",
                "GATEWAY_RATE_LIMIT_BURST": "1000000"}, logs)
            processes.append(gateway)
            wait_http(f"http://127.0.0.1:{port}/healthz", gateway)
            gateways[client] = port

        name, sub_uin, secret_id, secret_key = setup_sub_user(
            f"127.0.0.1:{next(iter(gateways.values()))}", demo)
        owner = "100000000001"  # iam-svc's demo account
        signer = AssertionSigner(private)
        # endpoint -> (direct base URL, service path, public path behind the gateway)
        endpoints = {
            "iam GetUser": (f"http://127.0.0.1:{iam_port}", f"/v1/users/{name}",
                            f"/iam/v1/users/{name}"),
            "echo": (f"http://127.0.0.1:{echo_port}", "/v1/echo/item-1",
                     "/echo/v1/echo/item-1"),
        }

        def direct_headers() -> dict[str, str]:
            return {"x-caller-assertion": signer.sign(Caller(
                kind="customer", uin=owner, sub_uin=sub_uin, key_id=secret_id))}

        def gateway_headers(port: int, public_path: str) -> dict[str, str]:
            signed = tc3.build_signed_headers(secret_id, secret_key, "cam", f"127.0.0.1:{port}",
                                              "Rest", "rest", method="GET", path=public_path,
                                              content_type="application/json")
            return {k: v for k, v in signed.items() if k != "Host"}

        for label, (base, path, public_path) in endpoints.items():
            # Both ways answer the same, and the gateway's way is really authorized.
            direct = httpx.get(base + path, headers=direct_headers())
            assert direct.status_code == 200, direct.text
            for port in gateways.values():
                through = httpx.get(f"http://127.0.0.1:{port}{public_path}",
                                    headers=gateway_headers(port, public_path))
                assert through.status_code == 200 and through.json() == direct.json(), \
                    through.text
            wrk(base + path, direct_headers(), 2)  # warm-up: pools, caches, code paths
            for port in gateways.values():
                wrk(f"http://127.0.0.1:{port}{public_path}",
                    gateway_headers(port, public_path), 2)
            runs: dict[str, list[dict[str, float]]] = {"direct": []}
            runs.update({f"gateway-{client}": [] for client in gateways})
            for _ in range(rounds):
                runs["direct"].append(wrk(base + path, direct_headers(), seconds))
                for client, port in gateways.items():
                    runs[f"gateway-{client}"].append(wrk(
                        f"http://127.0.0.1:{port}{public_path}",
                        gateway_headers(port, public_path), seconds))
            samples[label] = runs
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        asyncio.run(drop_postgres_database(database))

    def median(runs: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 2)

    summary: dict[str, dict] = {}
    for label, runs in samples.items():
        direct = {k: median(runs["direct"], k) for k in ("rps", "p50_ms", "p99_ms")}
        paths = {}
        for path_label, path_runs in runs.items():
            if path_label == "direct":
                continue
            rps, p50, p99 = (median(path_runs, k) for k in ("rps", "p50_ms", "p99_ms"))
            paired = statistics.median(g["rps"] / d["rps"]
                                       for g, d in zip(path_runs, runs["direct"], strict=True))
            paths[path_label] = {"rps": rps, "p50_ms": p50, "p99_ms": p99,
                                 "ratio": round(rps / direct["rps"], 2),
                                 "paired_ratio": round(paired, 2),
                                 "added_p50_ms": round(p50 - direct["p50_ms"], 2),
                                 "added_p99_ms": round(p99 - direct["p99_ms"], 2)}
        summary[label] = {"direct": direct, "gateway": paths}
    return {
        "benchmark": "gateway vs direct: signed (TC3) and authorized (CAM) GET, sub-user key",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": platform.platform(), "cpus": os.cpu_count(),
        "connections": CONNECTIONS, "seconds_per_run": seconds, "rounds": rounds,
        "endpoints": {"iam GetUser": "iam-svc GET /v1/users/{name}, one PostgreSQL read",
                      "echo": "FastAPI + assertion check, no I/O (worst case)"},
        "load_average": {"before": load_before,
                         "after": [round(x, 2) for x in os.getloadavg()]},
        "results": summary, "samples": samples, "target_ratio": 0.75,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="raw,aiohttp",
                        help="upstream HTTP clients to measure, comma-separated")
    parser.add_argument("--serve", choices=["echo", "gateway"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "echo":
        return serve_echo(args.port)
    if args.serve == "gateway":
        return serve_gateway(args.port)
    result = run(args.seconds, args.rounds, args.clients.split(","))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gateway.json").write_text(json.dumps(result, indent=2) + "\n")
    for label, figures in result["results"].items():
        direct = figures["direct"]
        print(f"{label}\n  {'direct':17} {direct['rps']:8.0f} req/s  p50 {direct['p50_ms']:.2f} ms"
              f"  p99 {direct['p99_ms']:.2f} ms")
        for path, f in figures["gateway"].items():
            print(f"  {path:17} {f['rps']:8.0f} req/s  ratio {f['ratio']:.2f} "
                  f"(paired {f['paired_ratio']:.2f})  "
                  f"added p50 {f['added_p50_ms']:+.2f} ms  p99 {f['added_p99_ms']:+.2f} ms")
    print(f"written to {RESULTS / 'gateway.json'}")


if __name__ == "__main__":
    main()
