"""Every service, on both databases: migrations run to head, the app starts, `/readyz` reports
database, migrations and broker, `/metrics` and the OpenAPI document answer, errors are
problem+json with a stable code and the request id."""

from __future__ import annotations

import base64
import importlib
import os
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from kit.db import Database
from kit.migrations import upgrade_to_head_async

SERVICES = ("iam", "invoice", "contract", "esign")


def service_settings(name: str, **values: object):
    config = importlib.import_module(f"{name}_svc.config")
    fields = config.Settings.model_fields
    if "key_encryption_key" in fields:  # iam-svc keeps SecretKeys encrypted at rest
        values.setdefault("key_encryption_key", base64.b64encode(os.urandom(32)).decode())
    return config.Settings(**values)


@pytest_asyncio.fixture(params=[(s, kind) for s in SERVICES for kind in ("pg", "sqlite")],
                        ids=lambda p: f"{p[0]}-{p[1]}")
async def service(request, create_pg_database, sqlite_url, rabbit_names, amqp_url
                  ) -> AsyncIterator[tuple[str, httpx.AsyncClient, str]]:
    name, kind = request.param
    main = importlib.import_module(f"{name}_svc.main")
    if kind == "pg":
        url = await create_pg_database(name)
        settings = service_settings(name, database_url=url, amqp_url=amqp_url,
                                    events_exchange=rabbit_names("events"),
                                    dlx_exchange=rabbit_names("dlx"))
    else:
        url = sqlite_url(name)
        settings = service_settings(name, database_url=url, bus="inprocess")
    await upgrade_to_head_async(main.MIGRATIONS_DIR, url)
    app = main.create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            yield name, client, url


async def test_service_is_ready_with_migrations_at_head(service):
    name, client, _ = service
    answer = await client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready",
                             "checks": {"database": True, "migrations": True, "broker": True}}
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == f"{name}-svc"


async def test_metrics_expose_request_latency(service):
    _, client, _ = service
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    assert 'http_request_duration_seconds_count{method="GET",route="/healthz"' in text


async def test_unknown_path_is_problem_json_with_code_and_request_id(service):
    _, client, _ = service
    answer = await client.get("/no/such/thing", headers={"X-Request-Id": "req-123"})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-request-id"] == "req-123"
    body = answer.json()
    assert body["code"] == "ResourceNotFound" and body["requestId"] == "req-123"


async def test_malformed_request_id_is_replaced(service):
    _, client, _ = service
    answer = await client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert answer.headers["x-request-id"] != "bad id with spaces"
    assert len(answer.headers["x-request-id"]) == 36


async def test_readiness_reports_missing_migrations(create_pg_database, rabbit_names, amqp_url):
    """A database the service has not migrated is 'not ready' (503), not an error."""
    main = importlib.import_module("invoice_svc.main")
    url = await create_pg_database("unmigrated")
    settings = service_settings("invoice", database_url=url, amqp_url=amqp_url,
                                events_exchange=rabbit_names("events"),
                                dlx_exchange=rabbit_names("dlx"), run_relay=False)
    app = main.create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://svc") as client:
            answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"database": True, "migrations": False, "broker": True}


async def test_migrations_create_outbox_trigger_on_postgres(create_pg_database):
    """The relay's LISTEN wake-up depends on the trigger the first migration installs."""
    main = importlib.import_module("contract_svc.main")
    url = await create_pg_database("trigger")
    await upgrade_to_head_async(main.MIGRATIONS_DIR, url)
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            from sqlalchemy import text
            names = (await conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'outbox'::regclass"))).scalars()
            assert "outbox_notify" in set(names)
    finally:
        await db.dispose()
