"""Every service refuses a request whose caller assertion is missing, forged, expired or
malformed, on every public route it contributes to the gateway and on its internal routes:
calling a service directly, past the gateway, gets nowhere. A correctly signed assertion on
the same request is the control (it must get past the identity check)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from gateway.embedded import EmbeddedSystem
from gateway.routes_table import load_service_routes
from kit.identity import HEADER, AssertionSigner, Caller, generate_keypair

ROUTES = load_service_routes()
INTERNAL = {"iam": [("GET", "/internal/v1/access-keys/AKIDnothing"),
                    ("GET", "/internal/v1/principals/100000000001/policies"),
                    ("POST", "/internal/v1/decisions"),
                    ("POST", "/internal/v1/accounts")]}
CASES = sorted({(r.service, r.method, re.sub(r"\{[a-z_]+\}", "1", r.path)) for r in ROUTES}
               | {(s, m, p) for s, calls in INTERNAL.items() for m, p in calls})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedSystem]:
    var_dir: Path = tmp_path_factory.mktemp("assertions")
    system = EmbeddedSystem(var_dir)
    async with system.running():
        yield system


def forged_assertions(valid: AssertionSigner, caller: Caller) -> dict[str, str | None]:
    foreign = AssertionSigner(generate_keypair()[0])
    token = valid.sign(caller)
    head, payload, signature = token.split(".")
    return {
        "missing": None,
        "empty": "",
        "signed by another key": foreign.sign(caller),
        "expired": valid.sign(caller, now=time.time() - 3600),
        "tampered payload": f"{head}.{payload[:-2]}AA.{signature}",
        "unsigned (alg none)": f"{head}.{payload}.",
        "garbage": "not-a-jwt",
    }


def test_every_route_contributing_service_is_covered():
    assert {service for service, _, _ in CASES} >= {r.service for r in ROUTES} | {"iam"}
    assert any(service == "iam" and not path.startswith("/internal") for service, _, path
               in CASES), "iam-svc contributes public routes"


@pytest.mark.parametrize("service,method,path", CASES)
async def test_services_refuse_missing_or_forged_assertions(system: EmbeddedSystem,
                                                            service: str, method: str,
                                                            path: str):
    assert system.gateway is not None
    signer: AssertionSigner = system.gateway.proxy.signer
    kind = "service" if path.startswith("/internal") else "customer"
    caller = Caller(kind=kind, uin=None if kind == "service" else "100000000001",
                    request_id="assertion-test")
    transport = httpx.ASGITransport(app=system.services[service])
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        for label, token in forged_assertions(signer, caller).items():
            headers = {"content-type": "application/json"}
            if token is not None:
                headers[HEADER] = token
            answer = await client.request(method, path, headers=headers, content=b"{}")
            assert answer.status_code == 401, (label, answer.text)
            assert answer.json()["code"] == "AuthFailure.InvalidAuthorization", label
        control = await client.request(method, path, content=b"{}", headers={
            "content-type": "application/json", HEADER: signer.sign(caller)})
        assert control.status_code != 401, control.text
