"""invoice-svc through the running gateway (distributed mode: every service and the gateway as
its own process, on PostgreSQL and RabbitMQ), on the demo account fed with billing-core events
published to the system's exchange.

The processes are started by tests/sdk/test_distributed_mode.py's `distributed_system`, with a
per-SecretId rate limit above 50 concurrent calls."""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from iam_svc.accounts.demo import DEMO_LEGAL_NAME, DEMO_UIN, DEMO_USCC
from invoice_svc.testing import account_event, at, order_paid
from kit import tc3
from kit.messaging import CloudEvent, OutboundMessage
from kit.messaging.probe import wait_for
from kit.messaging.rabbit import RabbitBus
from kit.money import format_yuan
from kit.testing import AMQP_URL

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: `sdk` as pytest names it
from sdk.test_distributed_mode import System, distributed_system

APPLY = "/invoice/v1/invoice-applications"
AMOUNT = "/invoice/v1/invoiceable-amount"
INSUFFICIENT = "FailedOperation.InvoiceableAmountInsufficient"
EMAIL = "finance@example.com"
ROUNDS = 20
CONCURRENT = 50
WITHIN = 30.0




@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    # 50 concurrent calls with one key: above the gateway's default per-SecretId limit
    with distributed_system(tmp_path_factory.mktemp("invoice_e2e"), {
            "GATEWAY_RATE_LIMIT_RPS": "100000", "GATEWAY_RATE_LIMIT_BURST": "100000"}) as system:
        yield system


def fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


class Gateway:
    """REST calls to invoice-svc through the gateway, TC3-signed with the demo root key, and
    billing-core events published to the run's exchange."""

    def __init__(self, running: System, client: httpx.AsyncClient, bus: RabbitBus) -> None:
        self.running = running
        self.client = client
        self.bus = bus

    async def call(self, method: str, path: str, body: Any = None, *,
                   raw: bytes | None = None) -> httpx.Response:
        data = raw if raw is not None else (b"" if body is None else orjson.dumps(body))
        key = self.running.demo
        bare, _, query = path.partition("?")
        headers = tc3.build_signed_headers(key.secret_id, key.secret_key, "invoice",
                                           self.running.host, "Rest", "rest", method=method,
                                           path=bare, query=query, body=data,
                                           content_type="application/json")
        return await self.client.request(method, f"http://{self.running.host}{path}",
                                         headers=headers, content=data)

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        answer = await self.call(method, path, body)
        assert answer.status_code == 200, (method, path, answer.status_code, answer.text)
        return answer.json()

    async def invoiceable(self) -> int:
        return fen((await self.ok("GET", AMOUNT))["total_amount"])

    async def publish(self, *events: CloudEvent) -> None:
        results = await self.bus.publish(
            [OutboundMessage(e.id, e.routing_key, e.to_json()) for e in events])
        assert all(r is None for r in results), results

    async def fund(self, *events: CloudEvent, adds: int) -> int:
        """Publish money events and wait until the invoiceable amount has grown by `adds`."""
        before = await self.invoiceable()
        await self.publish(*events)
        wanted = before + adds

        async def arrived() -> bool:
            return await self.invoiceable() == wanted

        await wait_for(arrived, within=WITHIN, what=f"invoiceable amount {wanted} fen")
        return wanted


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gw(running: System) -> AsyncIterator[Gateway]:
    bus = RabbitBus(AMQP_URL, exchange=running.exchange, dlx=running.dlx,
                    connection_name="invoice-e2e")
    await bus.connect()
    limits = httpx.Limits(max_connections=CONCURRENT * 2, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as client:
        gateway = Gateway(running, client, bus)
        # The demo account is a verified enterprise in iam-svc; say so again (same snapshot)
        # in case iam-svc's own event left before invoice-svc's queue existed.
        await gateway.publish(account_event(DEMO_UIN, "verified", legal_name=DEMO_LEGAL_NAME,
                                            uscc=DEMO_USCC))

        async def titled() -> bool:
            answer = await gateway.call("POST", "/invoice/v1/invoice-title",
                                        {"title_type": "enterprise_general"})
            return answer.status_code == 200 or (
                await gateway.call("GET", "/invoice/v1/invoice-title")).status_code == 200

        await wait_for(titled, within=WITHIN, what="the demo account's invoice title")
        try:
            yield gateway
        finally:
            await bus.close()


async def race(gw: Gateway, round_no: int, rng: random.Random) -> tuple[int, int]:
    start = at("2025-01-01 10:00:00") + timedelta(days=round_no)
    cash = [rng.randint(5_00, 400_00) for _ in range(8)]
    events = [order_paid(DEMO_UIN, f"R{round_no}-{uuid.uuid4().hex[:8]}-S{i}", format_yuan(c),
                         start + timedelta(minutes=i), tax_rate=rng.choice(["0.06", "0.09"]))
              for i, c in enumerate(cash)]
    initial = await gw.fund(*events, adds=sum(cash))
    amounts = [rng.randint(1, max(1, initial // 10)) for _ in range(CONCURRENT)]
    while sum(amounts) <= initial:
        amounts = [a * 2 for a in amounts]
    answers = await asyncio.gather(*(
        gw.call("POST", APPLY, {"mode": "amount", "total_amount": format_yuan(a),
                                "email": EMAIL}) for a in amounts))
    won = [a for a, answer in zip(amounts, answers, strict=True) if answer.status_code == 200]
    lost = [a for a, answer in zip(amounts, answers, strict=True) if answer.status_code != 200]
    for answer in answers:
        if answer.status_code != 200:
            assert (answer.status_code, answer.json()["code"]) == (409, INSUFFICIENT), answer.text
        else:
            assert fen(answer.json()["total_amount"]) in amounts, answer.text
    reserved = sum(won)
    assert reserved <= initial, (reserved, initial)
    assert await gw.invoiceable() == initial - reserved
    # Balances only go down, so each loser was refused when less than its amount was left.
    assert all(initial - reserved < a for a in lost)
    return len(won), len(lost)


async def test_inv_req_18_concurrent_applications_through_gateway_never_overdraw(
        gw: Gateway) -> None:
    """INV-REQ-18 end to end: 50 concurrent ApplyInvoice by amount through the gateway (REST,
    signed with the account's root key) asking together more than the balance, 20 rounds:
    never a fen more than the invoiceable amount, every loser told it is insufficient."""
    rng = random.Random(1818)
    outcomes = [await race(gw, n, rng) for n in range(ROUNDS)]
    assert all(won > 0 and lost > 0 for won, lost in outcomes), outcomes


async def test_inv_req_13_bad_input_through_gateway_reserves_nothing(gw: Gateway) -> None:
    """Wrong types, unknown records, three decimals, negative totals, oversized remarks through
    the gateway: clear problem+json codes, no 5xx, the invoiceable amount unchanged."""
    await gw.fund(order_paid(DEMO_UIN, f"B-{uuid.uuid4().hex[:8]}", "100.00",
                             at("2025-03-05 10:00:00")), adds=100_00)
    listed = await gw.ok("GET", "/invoice/v1/consumption-records?invoiceable_only=true&limit=1")
    mine = listed["records"][0]["record_id"]
    before = await gw.invoiceable()
    too_much = format_yuan(before + 1)
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"mode": "records", "record_ids": [12345], "email": EMAIL}, "InvalidParameterValue", 400),
        ({"mode": "records", "record_ids": mine, "email": EMAIL}, "InvalidParameterValue", 400),
        ({"mode": "amount", "total_amount": 12.5, "email": EMAIL}, "InvalidParameterValue", 400),
        ({"mode": "amount", "total_amount": "1.005", "email": EMAIL},
         "InvalidParameterValue.Amount", 400),
        ({"mode": "amount", "total_amount": "-5.00", "email": EMAIL},
         "InvalidParameterValue.Amount", 400),
        ({"mode": "amount", "total_amount": "0.00", "email": EMAIL},
         "InvalidParameterValue.Amount", 400),
        ({"mode": "amount", "total_amount": "10.00", "email": EMAIL,
          "allocation": {"lines": [{"record_id": mine, "amount": "10.001"}]}},
         "InvalidParameterValue.Amount", 400),
        ({"mode": "records", "record_ids": ["no-such-record"], "email": EMAIL},
         "ResourceNotFound.InvoiceableRecord", 404),
        ({"mode": "records", "record_ids": [mine, mine], "email": EMAIL},
         "InvalidParameterValue.DuplicateRecord", 400),
        ({"mode": "amount", "email": EMAIL}, "MissingParameter", 400),
        ({"mode": "amount", "total_amount": too_much, "email": EMAIL}, INSUFFICIENT, 409),
        ({"mode": "amount", "total_amount": "10.00", "email": EMAIL, "remark": "长" * 200},
         "InvalidParameterValue.RemarkTooLong", 400),
        ({"mode": "amount", "total_amount": "10.00", "email": EMAIL, "remark": "x" * 2001},
         "InvalidParameterValue", 400),
        ({"mode": "amount", "total_amount": "10.00", "email": EMAIL, "colour": "red"},
         "UnknownParameter", 400),
        ({"mode": "amount", "total_amount": "99999999999999999.99", "email": EMAIL},
         "InvalidParameterValue.Amount", 400),
        ({"mode": "refund", "email": EMAIL}, "InvalidParameterValue", 400),
    ]
    for body, code, status in cases:
        answer = await gw.call("POST", APPLY, body)
        assert answer.headers["content-type"].startswith("application/problem+json"), answer
        assert (answer.status_code, answer.json().get("code")) == (status, code), (
            body, answer.text)
    not_json = await gw.call("POST", APPLY, raw=b"{not json")
    assert (not_json.status_code, not_json.json()["code"]) == (400, "InvalidParameter")
    assert await gw.invoiceable() == before


async def test_inv_req_17_issued_and_downloaded_through_gateway(gw: Gateway) -> None:
    """An application made through the gateway is issued by invoice-svc's own worker on the
    (simulated) tax platform; the records list shows it issued with its 20-digit number, and
    the PDF and XML download through the gateway byte for byte."""
    await gw.fund(order_paid(DEMO_UIN, f"D-{uuid.uuid4().hex[:8]}", "212.00",
                             at("2025-04-01 10:00:00")), adds=212_00)
    applied = await gw.ok("POST", APPLY, {"mode": "amount", "total_amount": "212.00",
                                          "email": EMAIL})
    invoice_id = applied["invoices"][0]["invoice_id"]
    detail: dict[str, Any] = {}

    async def issued() -> bool:
        detail.update(await gw.ok("GET", f"/invoice/v1/invoices/{invoice_id}"))
        return detail["status"] == "issued"

    await wait_for(issued, within=WITHIN, what="the invoice to be issued")
    assert len(detail["number"]) == 20 and detail["amount"] == "212.00"
    listed = await gw.ok("GET", f"/invoice/v1/invoices?number={detail['number']}")
    assert [i["invoice_id"] for i in listed["invoices"]] == [invoice_id]
    pdf = await gw.call("GET", f"/invoice/v1/invoices/{invoice_id}/documents/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.content.rstrip().endswith(b"%%EOF")
    xml = await gw.call("GET", f"/invoice/v1/invoices/{invoice_id}/documents/xml")
    assert xml.status_code == 200 and detail["number"].encode() in xml.content
    csv_answer = await gw.call("GET", f"/invoice/v1/invoices/{invoice_id}/consumption-records.csv")
    assert csv_answer.status_code == 200 and "记录ID" in csv_answer.content.decode("utf-8-sig")
