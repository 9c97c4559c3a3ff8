"""An iam-svc per test on a fresh PostgreSQL database, driven over HTTP (ASGI transport) with
gateway-signed caller assertions, a frozen clock, and direct reads of its tables."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from iam_svc.config import Settings
from iam_svc.main import create_app
from iam_svc.models import metadata
from kit.clock import FrozenClock
from kit.identity import AssertionSigner, Caller, generate_keypair
from kit.testing import table_contents
from sqlalchemy import select, text

START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
DOMAIN_TABLES = ("accounts", "sub_users", "user_groups", "group_members", "access_keys",
                 "policies", "user_policies", "group_policies", "idempotency_keys", "outbox")


@dataclass
class Iam:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FrozenClock
    signer: AssertionSigner
    database_url: str

    # --- callers --------------------------------------------------------------------------
    def headers(self, kind: str = "customer", uin: str | None = None,
                sub_uin: str | None = None) -> dict[str, str]:
        token = self.signer.sign(Caller(kind, uin, sub_uin))  # type: ignore[arg-type]
        return {"x-caller-assertion": token}

    def service(self) -> dict[str, str]:
        return self.headers("service")

    async def call(self, method: str, path: str, *, uin: str | None = None,
                   sub_uin: str | None = None, kind: str | None = None,
                   json_body: Any = None, params: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        caller = kind or ("customer" if uin else "service")
        all_headers = self.headers(caller, uin, sub_uin) | (headers or {})
        return await self.client.request(method, path, json=json_body, params=params,
                                         headers=all_headers)

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self.call(method, path, **kwargs)
        assert answer.status_code == 200, (method, path, answer.status_code, answer.text)
        return answer.json()

    # --- set-up shortcuts -----------------------------------------------------------------
    async def account(self, *, site: str = "mainland", verification: dict | None = None,
                      uin: str | None = None) -> str:
        body: dict[str, Any] = {"site": site}
        if verification is not None:
            body["verification"] = verification
        if uin is not None:
            body["uin"] = uin
        return (await self.ok("POST", "/internal/v1/accounts", json_body=body))["uin"]

    async def user(self, owner: str, name: str) -> dict[str, Any]:
        return await self.ok("POST", "/v1/users", uin=owner, json_body={"name": name})

    async def policy(self, owner: str, name: str, document: dict | str) -> int:
        text_ = document if isinstance(document, str) else json.dumps(document)
        answer = await self.ok("POST", "/v1/policies", uin=owner,
                               json_body={"policy_name": name, "policy_document": text_})
        return answer["policy_id"]

    async def preset_id(self, owner: str, name: str) -> int:
        listing = await self.ok("GET", "/v1/policies", uin=owner,
                                params={"scope": "QCS", "rp": 200})
        return next(p["policy_id"] for p in listing["list"] if p["policy_name"] == name)

    async def decide(self, owner: str, sub_uin: str | None, action: str, resource: str,
                     context: dict | None = None) -> dict[str, Any]:
        return await self.ok("POST", "/internal/v1/decisions", json_body={
            "owner_uin": owner, "sub_uin": sub_uin, "action": action, "resource": resource,
            "context": context or {}})

    # --- direct reads ---------------------------------------------------------------------
    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        outbox = metadata.tables["outbox"]
        async with self.app.state.runtime.db.engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.body).order_by(outbox.c.seq))).all()
        bodies = [json.loads(body) for (body,) in rows]
        return [b for b in bodies if event_type is None or b["type"] == event_type]

    async def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in (await self.snapshot()).items()}

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every domain table, in a stable order: to prove nothing changed."""
        return await table_contents(self.app.state.runtime.db.engine,
                                    [metadata.tables[name] for name in DOMAIN_TABLES])

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.app.state.runtime.db.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())


@pytest_asyncio.fixture
async def iam(create_pg_database) -> AsyncIterator[Iam]:
    private, public = generate_keypair()
    clock = FrozenClock(START)
    url = await create_pg_database("iam")
    settings = Settings(
        database_url=url, bus="inprocess", auto_migrate=True, gateway_public_key=public,
        run_relay=False, key_encryption_key=base64.b64encode(os.urandom(32)).decode(),
        create_demo_account=False, log_json=False, log_level="WARNING")
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://iam-svc") as client:
            yield Iam(app, client, clock, AssertionSigner(private), url)
