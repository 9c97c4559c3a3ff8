"""Fuzzing every service's OpenAPI document with schemathesis: no generated request, valid or
not, may get a 5xx, and every answer conforms to the document (status, content type, body).

Each service runs under uvicorn in a background thread (`gateway.testing.ServedInThread`) on a
fresh PostgreSQL database with seeded data, and schemathesis's (synchronous, hypothesis) tests
call it over a real socket, so pytest-asyncio's loop is never involved. Every request carries
a gateway-signed caller assertion of the kind its route expects (customer of the seeded
account, operator for `/v1/operator/...`, service for `/internal/...`), so the fuzzer reaches
the handlers instead of bouncing at 401/403; path parameters are drawn either from the schema
or from the seeded rows' real ids. Deterministic: hypothesis derandomized, no example
database, a bounded number of examples per operation.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from contract_svc.config import Settings as ContractSettings
from contract_svc.main import create_app as create_contract_app
from esign_svc.config import Settings as EsignSettings
from esign_svc.main import create_app as create_esign_app
from fastapi import FastAPI
from gateway.testing import ServedInThread
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from iam_svc.config import Settings as IamSettings
from iam_svc.main import create_app as create_iam_app
from invoice_svc.config import Settings as InvoiceSettings
from invoice_svc.issuing.worker import IssuingWorker
from invoice_svc.main import create_app as create_invoice_app
from invoice_svc.taxplatform.simulated import SimulatedTaxPlatform
from invoice_svc.testing import account_event, at, order_paid
from kit.clock import FrozenClock
from kit.db import drop_postgres_database, ensure_postgres_database
from kit.identity import AssertionSigner, Caller, generate_keypair
from kit.messaging import OutboundMessage
from kit.testing import PG_BASE
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text

#: Hypothesis examples per operation, on top of schemathesis's explicit and coverage cases
#: (boundary values, wrong types, missing fields, other methods): the module takes about a minute.
MAX_EXAMPLES = 20
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
OWNER = "100000000777"  # the seeded customer account of each service
EMAIL = "finance@example.com"
ENTERPRISE = {"verification_type": "enterprise", "legal_name": "腾讯科技（深圳）有限公司",
              "uscc": "9144030071526726XG"}

FUZZ = settings(
    max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
    suppress_health_check=list(HealthCheck), print_blob=False,
    phases=[Phase.explicit, Phase.generate, Phase.shrink])


# --- the services' documents, loaded without a database -------------------------------------

def _common(database_url: str, public_key: str) -> dict[str, Any]:
    return {"database_url": database_url, "bus": "inprocess", "auto_migrate": True,
            "gateway_public_key": public_key, "run_relay": False, "log_json": False,
            "log_level": "CRITICAL"}


def _iam_app(url: str, public: str) -> FastAPI:
    return create_iam_app(IamSettings(
        **_common(url, public), key_encryption_key=base64.b64encode(os.urandom(32)).decode(),
        create_demo_account=False))


def _invoice_app(url: str, public: str, clock: FrozenClock | None = None) -> FastAPI:
    return create_invoice_app(InvoiceSettings(
        **_common(url, public), run_issuing=False, retry_backoff_seconds=0.01), clock=clock)


def _contract_app(url: str, public: str) -> FastAPI:
    return create_contract_app(ContractSettings(**_common(url, public)))


def _esign_app(url: str, public: str) -> FastAPI:
    return create_esign_app(EsignSettings(**_common(url, public)))


#: Real path-parameter values per service, by parameter name, filled by each service's fixture
#: from the rows it seeded (`spare_<name>`: rows that the deleting operations may remove).
REAL_IDS: dict[str, dict[str, list[Any]]] = {}


def _schema(label: str, make: Callable[[str, str], FastAPI]) -> Any:
    """The app's OpenAPI document (FastAPI builds it without touching the database), with path
    parameters drawn half from the schema and half from the seeded rows."""
    document = make(f"{PG_BASE}/unused", generate_keypair()[1]).openapi()
    schema = schemathesis.openapi.from_dict(document)
    real = REAL_IDS.setdefault(label, {})

    @schema.hook
    def before_generate_path_parameters(context: Any, strategy: st.SearchStrategy
                                        ) -> st.SearchStrategy:
        operation = context.operation
        names = [p.name for p in operation.path_parameters]
        # Deleting a resource itself gets spare rows, so later operations still find theirs.
        deletes = operation.method.lower() == "delete" and operation.path.endswith("}")

        def from_rows() -> st.SearchStrategy:
            ids = {n: (deletes and real.get(f"spare_{n}")) or real.get(n) for n in names}
            if not all(ids.values()):
                return strategy
            return st.fixed_dictionaries({n: st.sampled_from(v) for n, v in ids.items()})

        return st.one_of(st.deferred(from_rows), strategy)

    return schema


IAM = _schema("iam", _iam_app)
INVOICE = _schema("invoice", _invoice_app)
CONTRACT = _schema("contract", _contract_app)
ESIGN = _schema("esign", _esign_app)


# --- a service on a socket ------------------------------------------------------------------

class Served:
    def __init__(self, thread: ServedInThread, signer: AssertionSigner) -> None:
        self.thread = thread
        self.base_url = f"http://{thread.host}"
        self.signer = signer

    def caller_for(self, path: str) -> dict[str, str]:
        if path.startswith("/internal/"):
            caller = Caller("service", None)
        elif path.startswith("/v1/operator/"):
            caller = Caller("operator", None)
        else:
            caller = Caller("customer", OWNER)
        return {"x-caller-assertion": self.signer.sign(caller)}


#: `seed(app, client, headers, make_kwargs)` -> real path-parameter values by name.
Seed = Callable[[FastAPI, httpx.AsyncClient, Callable[..., dict[str, str]], dict[str, Any]],
                Awaitable[dict[str, list[Any]]]]


@contextlib.contextmanager
def serve(label: str, make: Callable[..., FastAPI], seed: Seed | None = None,
          **make_kwargs: Any) -> Iterator[Served]:
    private, public = generate_keypair()
    signer = AssertionSigner(private)
    url = f"{PG_BASE}/t_fuzz_{label}_{uuid.uuid4().hex[:12]}"

    def headers(kind: str = "customer", uin: str | None = OWNER) -> dict[str, str]:
        return {"x-caller-assertion": signer.sign(Caller(kind, uin))}  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[FastAPI]:
        await ensure_postgres_database(url)
        try:
            app = make(url, public, **make_kwargs)
            async with app.router.lifespan_context(app):
                if seed is not None:
                    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                                 base_url="http://svc") as client:
                        REAL_IDS[label].update(await seed(app, client, headers, make_kwargs))
                yield app
        finally:
            await drop_postgres_database(url)

    thread = ServedInThread().start(running)
    try:
        yield Served(thread, signer)
    finally:
        thread.stop()


def fuzz(case: Any, served: Served) -> None:
    """No 5xx, and every answer is what the document says: a declared status (errors are the
    `default` problem+json response kit.errors.document_problems adds), its declared content
    type (downloads included), and a body matching its schema."""
    case.call_and_validate(base_url=served.base_url, headers=served.caller_for(case.path),
                           checks=[not_a_server_error, status_code_conformance,
                                   content_type_conformance, response_schema_conformance],
                           timeout=30)


async def _ok(client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str],
              body: Any = None) -> Any:
    answer = await client.request(method, path, json=body, headers=headers)
    assert answer.status_code == 200, (method, path, answer.status_code, answer.text)
    return answer.json()


# --- the set-up itself (runs first): signed callers reach handlers, seeded ids feed the fuzzer

def test_fuzz_setup_reaches_handlers_with_seeded_ids(iam_svc: Served,
                                                      invoice_svc: Served) -> None:
    for served, path in ((iam_svc, "/v1/account"), (invoice_svc, "/v1/invoice-title")):
        answer = httpx.get(served.base_url + path, headers=served.caller_for(path))
        assert answer.status_code == 200, (path, answer.text)
    assert all(REAL_IDS["iam"][name] for name in ("group_id", "policy_id", "target_uin", "name"))
    [invoice_id] = REAL_IDS["invoice"]["invoice_id"]
    path = f"/v1/invoices/{invoice_id}"
    answer = httpx.get(invoice_svc.base_url + path, headers=invoice_svc.caller_for(path))
    assert answer.status_code == 200 and answer.json()["status"] == "issued", answer.text


# --- iam-svc ----------------------------------------------------------------------------------

async def seed_iam(app: FastAPI, client: httpx.AsyncClient, headers: Callable[..., dict],
                   _: Any) -> dict[str, list[Any]]:
    """An account with a verified enterprise, a sub-user in a group, a custom policy attached
    to both, an API key, and a spare sub-user, group and key for the deleting operations."""
    me = headers()
    await _ok(client, "POST", "/internal/v1/accounts", headers("service", None),
              {"site": "mainland", "uin": OWNER, "verification": ENTERPRISE})
    user = await _ok(client, "POST", "/v1/users", me, {"name": "alice"})
    group = (await _ok(client, "POST", "/v1/groups", me, {"group_name": "finance"}))["group_id"]
    await _ok(client, "POST", "/v1/group-memberships", me,
              {"info": [{"group_id": group, "uin": user["uin"]}]})
    document = ('{"version":"2.0","statement":[{"effect":"allow","action":["finance:*"],'
                '"resource":["*"]}]}')
    policy = (await _ok(client, "POST", "/v1/policies", me,
                        {"policy_name": "Finance", "policy_document": document}))["policy_id"]
    await _ok(client, "POST", f"/v1/users/{user['uin']}/policies", me, {"policy_id": policy})
    await _ok(client, "POST", f"/v1/groups/{group}/policies", me, {"policy_id": policy})
    key = (await _ok(client, "POST", "/v1/access-keys", me, {}))["access_key"]
    spare_user = await _ok(client, "POST", "/v1/users", me, {"name": "bob"})
    spare_group = (await _ok(client, "POST", "/v1/groups", me,
                             {"group_name": "spare"}))["group_id"]
    spare_key = (await _ok(client, "POST", "/v1/access-keys", me, {}))["access_key"]
    sub = [user["uin"], int(user["uin"])]
    return {"spare_name": [spare_user["name"]], "spare_group_id": [spare_group],
            "spare_access_key_id": [spare_key["access_key_id"]],
            "uin": [OWNER], "owner_uin": [OWNER], "name": ["alice"],
            "group_id": [group], "attach_group_id": [group], "detach_group_id": [group],
            "policy_id": [policy], "attach_uin": sub, "detach_uin": sub, "target_uin": sub,
            "access_key_id": [key["access_key_id"]], "secret_id": [key["access_key_id"]]}


@pytest.fixture(scope="module")
def iam_svc() -> Iterator[Served]:
    with serve("iam", _iam_app, seed_iam) as served:
        yield served


@IAM.parametrize()
@FUZZ
def test_iam_svc_openapi_fuzz_no_server_error(case: Any, iam_svc: Served) -> None:
    fuzz(case, iam_svc)


# --- invoice-svc ------------------------------------------------------------------------------

async def _deliver(app: FastAPI, *events: Any) -> None:
    runtime = app.state.runtime
    results = await runtime.bus.publish(
        [OutboundMessage(e.id, e.routing_key, e.to_json()) for e in events])
    assert all(r is None for r in results), results
    wanted = {e.id for e in events}
    for _ in range(400):
        async with runtime.db.engine.connect() as conn:
            seen = set((await conn.execute(text("SELECT message_id FROM inbox"))).scalars())
        if wanted <= seen:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the seeded events were not handled")


async def seed_invoice(app: FastAPI, client: httpx.AsyncClient, headers: Callable[..., dict],
                       make_kwargs: dict[str, Any]) -> dict[str, list[Any]]:
    """A verified enterprise account with its special-VAT title, consumption records, and one
    issued invoice (driven through the simulated tax platform)."""
    me = headers()
    clock: FrozenClock = make_kwargs["clock"]
    await _deliver(app, account_event(OWNER, "verified", verification_type="enterprise",
                                      legal_name=ENTERPRISE["legal_name"],
                                      uscc=ENTERPRISE["uscc"]))
    await _ok(client, "POST", "/v1/invoice-title", me, {
        "title_type": "enterprise_special", "address": "深圳市南山区海天二路 33 号",
        "phone": "0755-86013388", "bank_name": "招商银行深圳分行",
        "bank_account": "755912345610001"})
    await _deliver(app, *[order_paid(OWNER, f"S{n}", amount,
                                     at("2025-02-01 10:00:00") + timedelta(hours=n))
                          for n, amount in enumerate(["1000.00", "250.50", "80.00"])])
    applied = await _ok(client, "POST", "/v1/invoice-applications", me,
                        {"mode": "amount", "total_amount": "300.00", "email": EMAIL})
    invoice_ids = [i["invoice_id"] for i in applied["invoices"]]
    rt = app.state.runtime
    worker = IssuingWorker(rt.db, rt.outbox, SimulatedTaxPlatform(
        clock=clock, latency=timedelta(seconds=5)), rt.settings, clock)
    for _ in range(5):
        await worker.run_once()
        clock.advance(timedelta(minutes=10))
    return {"invoice_id": invoice_ids, "target_uin": [OWNER], "fmt": ["pdf", "xml", "ofd"]}


@pytest.fixture(scope="module")
def invoice_svc() -> Iterator[Served]:
    with serve("invoice", _invoice_app, seed_invoice,
               clock=FrozenClock(START)) as served:
        yield served


@INVOICE.parametrize()
@FUZZ
def test_invoice_svc_openapi_fuzz_no_server_error(case: Any, invoice_svc: Served) -> None:
    fuzz(case, invoice_svc)


# --- contract-svc and esign-svc (skeletons: health endpoints only for now) -------------------

@pytest.fixture(scope="module")
def contract_svc() -> Iterator[Served]:
    with serve("contract", _contract_app) as served:
        yield served


@pytest.fixture(scope="module")
def esign_svc() -> Iterator[Served]:
    with serve("esign", _esign_app) as served:
        yield served


@CONTRACT.parametrize()
@FUZZ
def test_contract_svc_openapi_fuzz_no_server_error(case: Any, contract_svc: Served) -> None:
    fuzz(case, contract_svc)


@ESIGN.parametrize()
@FUZZ
def test_esign_svc_openapi_fuzz_no_server_error(case: Any, esign_svc: Served) -> None:
    fuzz(case, esign_svc)

