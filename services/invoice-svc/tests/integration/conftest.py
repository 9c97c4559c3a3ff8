"""An invoice-svc per test on a fresh PostgreSQL database (or SQLite), driven over HTTP (ASGI
transport) with gateway-signed caller assertions, fed with CloudEvents through its bus, and
read directly from its tables."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from invoice_svc.config import Settings
from invoice_svc.main import create_app
from invoice_svc.models import metadata
from invoice_svc.testing import ENTERPRISE_NAME, ENTERPRISE_USCC, account_event
from kit.clock import FrozenClock
from kit.identity import AssertionSigner, Caller, generate_keypair
from kit.messaging import CloudEvent, OutboundMessage
from kit.messaging.probe import wait_for
from sqlalchemy import func, select, text

START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
WITHIN = 20.0


@dataclass
class Invoice:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FrozenClock
    signer: AssertionSigner
    database_url: str

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    # --- HTTP ------------------------------------------------------------------------------
    def headers(self, kind: str = "customer", uin: str | None = None,
                sub_uin: str | None = None) -> dict[str, str]:
        return {"x-caller-assertion": self.signer.sign(Caller(kind, uin, sub_uin))}  # type: ignore[arg-type]

    async def call(self, method: str, path: str, *, uin: str | None = None,
                   kind: str = "customer", sub_uin: str | None = None, json_body: Any = None,
                   params: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        all_headers = self.headers(kind, uin, sub_uin) | (headers or {})
        return await self.client.request(method, path, json=json_body, params=params,
                                         headers=all_headers)

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self.call(method, path, **kwargs)
        assert answer.status_code == 200, (method, path, answer.status_code, answer.text)
        return answer.json()

    async def refused(self, method: str, path: str, code: str, status: int | None = None,
                      **kwargs: Any) -> dict[str, Any]:
        answer = await self.call(method, path, **kwargs)
        body = answer.json()
        assert body.get("code") == code, (answer.status_code, body)
        if status is not None:
            assert answer.status_code == status, (answer.status_code, body)
        assert answer.status_code < 500
        return body

    # --- events ----------------------------------------------------------------------------
    async def publish(self, *events: CloudEvent) -> None:
        results = await self.runtime.bus.publish(
            [OutboundMessage(e.id, e.routing_key, e.to_json()) for e in events])
        assert all(r is None for r in results), results

    async def inbox_ids(self) -> set[str]:
        inbox = metadata.tables["inbox"]
        async with self.runtime.db.engine.connect() as conn:
            return set((await conn.execute(select(inbox.c.message_id))).scalars())

    async def deliver(self, *events: CloudEvent) -> None:
        """Publish, then wait until every event has been handled (its id is in the inbox)."""
        await self.publish(*events)
        wanted = {e.id for e in events}

        async def handled() -> bool:
            return wanted <= await self.inbox_ids()

        await wait_for(handled, within=WITHIN, what=f"{len(wanted)} events handled")

    def duplicates(self) -> float:
        total = 0.0
        for consumer in self.runtime.consumers:
            total += consumer.duplicates._value.get()
        return total

    def handled(self) -> float:
        return sum(consumer.handled._value.get() for consumer in self.runtime.consumers)

    async def redeliver(self, event: CloudEvent) -> None:
        """Publish an already handled event again and wait until the inbox has dropped it."""
        before = self.duplicates()
        await self.publish(event)

        async def dropped() -> bool:
            return self.duplicates() > before

        await wait_for(dropped, within=WITHIN, what="the duplicate to be dropped")

    async def deliver_counted(self, event: CloudEvent) -> None:
        """Publish a new event and wait until one more message has been handled."""
        before = self.handled()
        await self.publish(event)

        async def done() -> bool:
            return self.handled() > before

        await wait_for(done, within=WITHIN, what="the event to be handled")

    # --- set-up shortcuts ------------------------------------------------------------------
    async def enterprise(self, uin: str, *, name: str = ENTERPRISE_NAME,
                         uscc: str = ENTERPRISE_USCC, title: str = "enterprise_general",
                         bank: bool = True) -> None:
        """A verified mainland enterprise account with its title."""
        await self.deliver(account_event(uin, "verified", verification_type="enterprise",
                                         legal_name=name, uscc=uscc))
        body: dict[str, Any] = {"title_type": title}
        if bank:
            body |= {"address": "深圳市南山区海天二路 33 号", "phone": "0755-86013388",
                     "bank_name": "招商银行深圳分行", "bank_account": "755912345610001"}
        await self.ok("POST", "/v1/invoice-title", uin=uin, json_body=body)

    async def personal(self, uin: str, *, name: str = "张三") -> None:
        await self.deliver(account_event(uin, "verified", verification_type="personal",
                                         legal_name=name, uscc=None))

    async def set_legacy(self, uin: str, amount: str) -> None:
        await self.ok("PUT", f"/v1/operator/accounts/{uin}/legacy-amount", kind="operator",
                      json_body={"amount": amount})

    # --- direct reads ----------------------------------------------------------------------
    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.runtime.db.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def ledger(self, uin: str) -> tuple[int, int]:
        """(legacy_fen, records_balance_fen), (0, 0) for an account never seen."""
        rows = await self.rows("SELECT legacy_fen, records_balance_fen FROM account_ledgers"
                               " WHERE uin = :uin", uin=uin)
        return (rows[0][0], rows[0][1]) if rows else (0, 0)

    async def balances(self, uin: str) -> dict[str, int]:
        return {rid: bal for rid, bal in await self.rows(
            "SELECT record_id, balance_fen FROM consumption_records WHERE uin = :uin", uin=uin)}

    async def record_id(self, uin: str, source_id: str) -> str:
        rows = await self.rows("SELECT record_id FROM consumption_records WHERE uin = :uin"
                               " AND source_id = :sid", uin=uin, sid=source_id)
        assert len(rows) == 1, rows
        return rows[0][0]

    async def count(self, table: str) -> int:
        async with self.runtime.db.engine.connect() as conn:
            return (await conn.execute(
                select(func.count()).select_from(metadata.tables[table]))).scalar_one()

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        outbox = metadata.tables["outbox"]
        async with self.runtime.db.engine.connect() as conn:
            bodies = (await conn.execute(select(outbox.c.body).order_by(outbox.c.seq))).scalars()
            parsed = [json.loads(b) for b in bodies]
        return [b for b in parsed if event_type is None or b["type"] == event_type]

    async def snapshot(self, uin: str) -> tuple[Any, ...]:
        """Everything an application may change, for "nothing was reserved" checks."""
        return (await self.ledger(uin), await self.balances(uin),
                await self.count("invoice_applications"), await self.count("invoices"),
                await self.count("application_allocations"), len(await self.events()))


MakeInvoice = Callable[..., Awaitable[Invoice]]


@pytest_asyncio.fixture
async def make_invoice(create_pg_database, sqlite_url) -> AsyncIterator[MakeInvoice]:
    """Start invoice-svc instances: `await make_invoice()` (PostgreSQL, in-process bus) or
    `await make_invoice(database="sqlite")`, with optional Settings overrides."""
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:

        async def make(database: str = "postgresql", **overrides: Any) -> Invoice:
            private, public = generate_keypair()
            clock = FrozenClock(START)
            if database == "sqlite":
                url = sqlite_url(f"invoice{len(stack._exit_callbacks)}")
            else:
                url = await create_pg_database("invoice")
            values: dict[str, Any] = {
                "database_url": url, "bus": "inprocess", "auto_migrate": True,
                "gateway_public_key": public, "run_relay": False, "log_json": False,
                "log_level": "WARNING", "retry_backoff_seconds": 0.01,
                # Issuing tests drive an IssuingWorker themselves (issuing/test_*.py).
                "run_issuing": False}
            values.update(overrides)
            app = create_app(Settings(**values), clock=clock)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://invoice-svc"))
            return Invoice(app, client, clock, AssertionSigner(private), url)

        yield make


@pytest_asyncio.fixture
async def inv(make_invoice: MakeInvoice) -> Invoice:
    return await make_invoice()


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
