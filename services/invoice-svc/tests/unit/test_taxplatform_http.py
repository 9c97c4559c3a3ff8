"""`HttpTaxPlatform` against the simulator server: in process (httpx.ASGITransport) for the
protocol, on a real socket for timeouts and refused connections; plus `build_tax_platform`."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from invoice_svc.documents.model import DocumentLine, InvoiceDocument, Party
from invoice_svc.taxplatform.factory import build_tax_platform
from invoice_svc.taxplatform.http_client import HttpTaxPlatform
from invoice_svc.taxplatform.interface import (
    FORM_BUYER_RAISED_PENDING,
    FORM_CONFIRMED,
    FORM_NO_CONFIRMATION,
    FORM_SELLER_RAISED_PENDING,
    FORM_VOID_LAPSED,
    FORM_VOID_REVOKED,
    FORM_VOID_SELLER_DENIED,
    IssuedDocuments,
    IssueRequest,
    PlatformRejected,
    PlatformUnavailable,
    RedFormRequest,
    TaxPlatform,
)
from invoice_svc.taxplatform.server import build, create_simulator_app
from invoice_svc.taxplatform.simulated import OffsetClock, SimulatedTaxPlatform
from kit.clock import FrozenClock
from kit.testing import serving

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
LATENCY = timedelta(seconds=5)
SELLER = Party(name="深圳市腾讯计算机系统有限公司", taxpayer_id="91440300708461136T")
BUYER = Party(name="北京示例科技有限公司", taxpayer_id="91110000100000000R",
              address="北京市海淀区示例路1号", phone="010-12345678")
RATE = Decimal("0.06")
LINES = (
    DocumentLine("*信息技术服务*云服务器", 100000, RATE, 6000, spec="S5", unit="台",
                 quantity=Decimal(2), unit_price=Decimal("500"),
                 tax_classification_code="3040201000000000000"),
    DocumentLine("*信息技术服务*云硬盘", 20000, RATE, 1200),
)
BLUE_TOTAL = 127200


def stand_in_render(document: InvoiceDocument) -> IssuedDocuments:
    face = f"{document.number}|{document.amount_fen}|{document.original_number}"
    return IssuedDocuments(pdf=b"%PDF-stand-in " + face.encode(),
                           xml=f"<EInvoice>{face}</EInvoice>".encode(), ofd=b"OFD " + face.encode())


def request(order_no: str = "A1", /, **changes: object) -> IssueRequest:
    base = IssueRequest(order_no=order_no, kind="special", buyer=BUYER, seller=SELLER,
                        lines=LINES, drawer="系统开票", remark="项目：云迁移",
                        buyer_email="finance@example.com")
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def platform(clock: FrozenClock) -> SimulatedTaxPlatform:
    return SimulatedTaxPlatform(clock, render=stand_in_render, latency=LATENCY)


@pytest.fixture
def transport(platform: SimulatedTaxPlatform) -> httpx.ASGITransport:
    return httpx.ASGITransport(create_simulator_app(platform))


@pytest_asyncio.fixture
async def admin(transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP to the same server: `/_sim/` controls and document downloads."""
    async with httpx.AsyncClient(transport=transport, base_url="http://platform") as client:
        yield client


@pytest_asyncio.fixture
async def client(transport: httpx.ASGITransport) -> AsyncIterator[HttpTaxPlatform]:
    http = HttpTaxPlatform("http://platform", transport=transport)
    yield http
    await http.close()


async def sim(admin: httpx.AsyncClient, method: str, path: str, **body: Any) -> Any:
    response = await admin.request(method, f"/_sim/{path}", json=body or None)
    assert response.status_code == 200, response.text
    return response.json()


async def issued(client: HttpTaxPlatform, admin: httpx.AsyncClient,
                 order_no: str = "A1") -> str:
    await client.issue(request(order_no))
    await sim(admin, "POST", "clock/advance", seconds=LATENCY.total_seconds())
    result = await client.query(order_no)
    assert result is not None and result.state == "issued" and result.number
    return result.number


def red_request(blue: str, request_no: str = "R1", *, deducted: bool = False,
                lines: tuple[tuple[int, int, int], ...] = ()) -> RedFormRequest:
    return RedFormRequest(request_no=request_no, blue_number=blue, reason="issue_error",
                          buyer_deducted=deducted, lines=lines)


def test_the_http_client_is_a_tax_platform(client: HttpTaxPlatform) -> None:
    assert isinstance(client, TaxPlatform)


# --- issuing over HTTP (INV-REQ-17) -------------------------------------------------------------


async def test_inv_req_17_issuing_then_issued_with_documents_over_http(
        client: HttpTaxPlatform, admin: httpx.AsyncClient, platform: SimulatedTaxPlatform,
        clock: FrozenClock) -> None:
    accepted = await client.issue(request("A1"))
    assert (accepted.order_no, accepted.state, accepted.number) == ("A1", "issuing", None)
    moved = await sim(admin, "POST", "clock/advance", seconds=5)
    assert datetime.fromisoformat(moved["now"]) == START + LATENCY == clock.now()

    result = await client.query("A1")
    assert result is not None and result.state == "issued"
    assert result.issued_at == START + LATENCY
    document = platform.documents()[0]
    assert document.lines == LINES and document.buyer == BUYER  # the request survived the wire
    assert result.documents == stand_in_render(document)
    pdf = await admin.get("/v1/invoices/A1/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == result.documents.pdf
    assert (await admin.get("/v1/invoices/A1/ofd")).content == result.documents.ofd


async def test_inv_req_17_asynchronous_failure_over_http(
        client: HttpTaxPlatform, admin: httpx.AsyncClient) -> None:
    await sim(admin, "POST", "faults/fail-async-next", n=1, reason="签章失败：签名服务异常")
    assert (await client.issue(request("A1"))).state == "issuing"
    await sim(admin, "POST", "clock/advance", seconds=5)
    failed = await client.query("A1")
    assert failed is not None
    assert (failed.state, failed.failure_code, failed.failure_reason) == (
        "failed", "E0024", "签章失败：签名服务异常")
    download = await admin.get("/v1/invoices/A1/xml")
    assert download.status_code == 404 and download.json()["code"] == "E4041"


async def test_refusals_arrive_with_code_and_reason(client: HttpTaxPlatform,
                                                    admin: httpx.AsyncClient) -> None:
    with pytest.raises(PlatformRejected) as invalid:
        await client.issue(request("A1", buyer=Party(name="某公司")))
    assert invalid.value.code == "E1002" and "纳税人识别号" in invalid.value.reason

    await sim(admin, "POST", "faults/reject-next", code="E3001", reason="开票额度不足")
    with pytest.raises(PlatformRejected) as injected:
        await client.issue(request("A1"))
    assert (injected.value.code, injected.value.reason) == ("E3001", "开票额度不足")

    await sim(admin, "POST", "faults/reject-when", order_no_prefix="VIP", code="E3002",
              reason="订单受限")
    with pytest.raises(PlatformRejected) as matched:
        await client.issue(request("VIP-1"))
    assert matched.value.code == "E3002"
    assert (await client.issue(request("A1"))).state == "issuing"
    assert (await sim(admin, "DELETE", "faults"))["reject_when"] == 0
    assert (await client.issue(request("VIP-1"))).state == "issuing"


async def test_same_order_no_is_idempotent_and_a_changed_request_is_refused(
        client: HttpTaxPlatform, admin: httpx.AsyncClient) -> None:
    number = await issued(client, admin, "A1")
    again = await client.issue(request("A1"))
    assert (again.state, again.number) == ("issued", number)
    with pytest.raises(PlatformRejected) as changed:
        await client.issue(request("A1", remark="另一个备注"))
    assert changed.value.code == "E9106"


async def test_lost_answer_over_http_then_the_retry_finds_the_one_invoice(
        client: HttpTaxPlatform, admin: httpx.AsyncClient) -> None:
    await sim(admin, "POST", "faults/lose-answer-next", n=1, on=["issue"])
    with pytest.raises(PlatformUnavailable):
        await client.issue(request("A1"))
    await sim(admin, "POST", "faults/unavailable-next", n=1)
    with pytest.raises(PlatformUnavailable):
        await client.query("A1")
    found = await client.query("A1")
    assert found is not None and found.state == "issuing"
    await sim(admin, "POST", "clock/advance", seconds=5)
    retried = await client.issue(request("A1"))
    assert retried.state == "issued"
    stats = await sim(admin, "GET", "stats")
    assert stats["submissions"] == {"A1": 2} and stats["issued"] == 1
    assert stats["issued_count"] == 1 and stats["numbers"] == {"A1": retried.number}
    assert stats["calls"] == {"issue": 2, "query": 2}


async def test_unknown_orders_and_forms_are_none(client: HttpTaxPlatform,
                                                 admin: httpx.AsyncClient) -> None:
    assert await client.query("nobody") is None
    assert await client.query("a/b c?") is None  # quoted into one path segment
    assert await client.query_red_form("44260302000000000001") is None
    with pytest.raises(PlatformRejected) as unknown:
        await client.confirm_red_form("44260302000000000001")
    assert unknown.value.code == "E2010"
    missing = await admin.get("/v1/invoices/nobody/pdf")
    assert missing.status_code == 404 and missing.json()["code"] == "E4040"


# --- red-letter forms over HTTP (INV-REQ-23, INV-REQ-25) ----------------------------------------


async def test_inv_req_25_not_deducted_is_offset_in_full_without_confirmation_over_http(
        client: HttpTaxPlatform, admin: httpx.AsyncClient) -> None:
    blue = await issued(client, admin)
    form = await client.request_red_form(red_request(blue))
    assert (form.state, form.raised_by, form.amount_fen) == (
        FORM_NO_CONFIRMATION, "seller", -BLUE_TOTAL)
    assert form.created_at == START + LATENCY and form.reason == "issue_error"
    await sim(admin, "POST", "clock/advance", seconds=5)
    done = await client.query_red_form(form.form_number)
    assert done is not None and done.red_invoice_number
    red = await client.query(f"red:{form.form_number}")
    assert red is not None and red.number == done.red_invoice_number
    assert red.documents is not None and b"|-127200|" + blue.encode() in red.documents.pdf


async def test_inv_req_23_deducted_buyer_confirms_and_the_red_invoice_is_downloadable(
        client: HttpTaxPlatform, admin: httpx.AsyncClient) -> None:
    blue = await issued(client, admin)
    form = await client.request_red_form(red_request(blue, deducted=True,
                                                     lines=((0, -50000, -3000),)))
    assert form.state == FORM_SELLER_RAISED_PENDING and form.lines == ((0, -50000, -3000),)
    confirmed = await sim(admin, "POST", f"buyer/red-forms/{form.form_number}/confirm")
    assert confirmed["state"] == FORM_CONFIRMED
    await sim(admin, "POST", "clock/advance", seconds=5)
    done = await client.query_red_form(form.form_number)
    assert done is not None and done.red_invoice_number
    pdf = await admin.get(f"/v1/invoices/red:{form.form_number}/pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-stand-in " + done.red_invoice_number.encode())
    invoices = (await sim(admin, "GET", "invoices"))["invoices"]
    assert [(i["red"], i["amount_fen"], i["red_remaining_fen"]) for i in invoices] == [
        (False, BLUE_TOTAL, BLUE_TOTAL - 53000), (True, -53000, None)]


async def test_inv_req_23_an_unconfirmed_form_lapses_after_72_hours_over_http(
        client: HttpTaxPlatform, admin: httpx.AsyncClient, clock: FrozenClock) -> None:
    blue = await issued(client, admin)
    form = await client.request_red_form(red_request(blue, deducted=True))
    later = clock.now() + timedelta(hours=72)
    await sim(admin, "PUT", "clock", now=(later - timedelta(seconds=1)).isoformat())
    assert (await client.query_red_form(form.form_number)).state == FORM_SELLER_RAISED_PENDING  # type: ignore[union-attr]
    await sim(admin, "PUT", "clock", now=later.isoformat())
    lapsed = await client.query_red_form(form.form_number)
    assert lapsed is not None and lapsed.state == FORM_VOID_LAPSED
    assert lapsed.red_invoice_number is None


async def test_revoking_our_pending_form_over_http(client: HttpTaxPlatform,
                                                   admin: httpx.AsyncClient) -> None:
    blue = await issued(client, admin)
    form = await client.request_red_form(red_request(blue, deducted=True))
    assert (await client.revoke_red_form(form.form_number)).state == FORM_VOID_REVOKED
    with pytest.raises(PlatformRejected) as refused:
        await client.reject_red_form(form.form_number)  # not buyer-raised
    assert refused.value.code == "E2011"


async def test_inbound_forms_since_then_confirmed_or_rejected_over_http(
        client: HttpTaxPlatform, admin: httpx.AsyncClient, clock: FrozenClock) -> None:
    blue = await issued(client, admin)
    first = await sim(admin, "POST", "buyer/red-forms", blue_number=blue,
                      lines=[[1, -20000, -1200]])
    await sim(admin, "POST", "clock/advance", seconds=3600)
    since = clock.now()
    second = await sim(admin, "POST", "buyer/red-forms", blue_number=blue,
                       reason="sales_discount", lines=[[0, -1000, -60]])
    assert first["state"] == second["state"] == FORM_BUYER_RAISED_PENDING

    recent = await client.list_inbound_red_forms(since)
    assert [(f.form_number, f.reason, f.raised_by) for f in recent] == [
        (second["form_number"], "sales_discount", "buyer")]
    assert len(await client.list_inbound_red_forms(since - timedelta(hours=2))) == 2

    assert (await client.confirm_red_form(first["form_number"])).state == FORM_CONFIRMED
    rejected = await client.reject_red_form(second["form_number"])
    assert rejected.state == FORM_VOID_SELLER_DENIED
    with pytest.raises(PlatformRejected) as beyond:  # line 1 is fully taken by the first
        await client.request_red_form(red_request(blue, lines=((1, -1, 0),)))
    assert beyond.value.code == "E2004"


# --- the server's edges ---------------------------------------------------------------------------


async def test_malformed_requests_answer_400_not_500(admin: httpx.AsyncClient) -> None:
    not_json = await admin.post("/v1/invoices", content=b"{oops")
    assert not_json.status_code == 400 and not_json.json()["code"] == "E0400"
    wrong_type = await admin.post("/v1/red-forms", json={"request_no": "R", "blue_number": "1",
                                                         "reason": "sales_return",
                                                         "buyer_deducted": "yes"})
    assert wrong_type.status_code == 400 and "buyer_deducted" in wrong_type.json()["reason"]
    naive = await admin.get("/v1/inbound-red-forms", params={"since": "2026-03-01T00:00:00"})
    assert naive.status_code == 400
    bad_fault = await admin.post("/_sim/faults/unavailable-next", json={"on": ["issu"]})
    assert bad_fault.status_code == 400 and "issu" in bad_fault.json()["reason"]
    backwards = await admin.put("/_sim/clock", json={"now": "2020-01-01T00:00:00+00:00"})
    assert backwards.status_code == 400


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_throttling_and_server_errors_mean_unavailable(status: int) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(status, text="busy"))
    client = HttpTaxPlatform("http://platform", transport=transport)
    with pytest.raises(PlatformUnavailable, match=str(status)):
        await client.issue(request("A1"))
    await client.close()


@pytest.mark.parametrize(("response", "outcome"), [
    (httpx.Response(404, text="no route"), PlatformUnavailable),  # not the platform talking
    (httpx.Response(200, text="<html>"), PlatformUnavailable),
    (httpx.Response(200, json={"state": "done"}), PlatformUnavailable),
    (httpx.Response(403, text="forbidden"), PlatformUnavailable),  # a proxy, not a refusal
    (httpx.Response(400, text="bad"), PlatformUnavailable),  # no platform code: unknown
    (httpx.Response(422, json={"code": "E2003", "reason": "名称不符"}), PlatformRejected),
    (httpx.Response(409, json={"code": "E9106", "reason": "重复"}), PlatformRejected),
])
async def test_answers_we_cannot_use(response: httpx.Response, outcome: type) -> None:
    client = HttpTaxPlatform("http://platform",
                             transport=httpx.MockTransport(lambda _: response))
    with pytest.raises(outcome) as raised:
        await client.query("A1")
    if outcome is PlatformRejected:
        assert raised.value.code == response.json()["code"]
    await client.close()


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadTimeout,
                                   httpx.RemoteProtocolError])
async def test_transport_errors_mean_unavailable(error: type[httpx.TransportError]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    client = HttpTaxPlatform("http://platform", transport=httpx.MockTransport(fail))
    with pytest.raises(PlatformUnavailable):
        await client.request_red_form(red_request("26442000000000000001"))
    await client.close()


# --- on a real socket -----------------------------------------------------------------------------


@pytest_asyncio.fixture
async def served(platform: SimulatedTaxPlatform) -> AsyncIterator[str]:
    """The simulator under uvicorn on a free port, in the test's event loop."""
    async with serving(create_simulator_app(platform), graceful_seconds=0.2) as url:
        yield url


async def test_a_slow_answer_over_a_real_socket_times_out_as_unavailable(served: str) -> None:
    client = HttpTaxPlatform(served, timeout=0.3)
    async with httpx.AsyncClient(base_url=served) as admin:
        accepted = await client.issue(request("A1"))
        assert accepted.state == "issuing"
        slow = await admin.post("/_sim/faults/slow-next", json={"seconds": 1, "on": ["query"]})
        assert slow.status_code == 200 and slow.json()["slow"] == 1
        started = time.monotonic()
        with pytest.raises(PlatformUnavailable, match="超时"):
            await client.query("A1")
        assert time.monotonic() - started < 1  # the client gave up, the server had not answered
    await client.close()


async def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nobody listens there
    client = HttpTaxPlatform(f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(PlatformUnavailable, match="ConnectError"):
        await client.query("A1")
    await client.close()


# --- choosing the platform by configuration -------------------------------------------------------


async def test_build_tax_platform_by_spec(clock: FrozenClock) -> None:
    simulated = build_tax_platform("simulated", clock)
    assert isinstance(simulated, SimulatedTaxPlatform) and simulated.clock is clock

    tuned = build_tax_platform("simulated?latency=0&region=11", clock)
    assert isinstance(tuned, SimulatedTaxPlatform)
    assert (tuned.latency, tuned.region) == (timedelta(0), "11")

    remote = build_tax_platform("http://127.0.0.1:8105", clock)
    assert isinstance(remote, HttpTaxPlatform)
    await remote.close()

    plugged = build_tax_platform("invoice_svc.taxplatform.simulated:create_platform", clock)
    assert isinstance(plugged, SimulatedTaxPlatform) and plugged.clock is clock


@pytest.mark.parametrize(("spec", "error", "fragment"), [
    ("simulator", ValueError, "not understood"),
    ("ftp://platform", ValueError, "not understood"),
    ("simulated?latency=0&colour=red", ValueError, "colour"),
    ("no_such_provider_pkg.adapter:create", ValueError, "cannot import"),
    ("invoice_svc.taxplatform.simulated:no_such_factory", ValueError, "no callable"),
    ("builtins:dict", TypeError, "does not implement TaxPlatform"),
])
def test_build_tax_platform_refuses_what_it_cannot_build(clock: FrozenClock, spec: str,
                                                          error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        build_tax_platform(spec, clock)


def test_the_server_command_line() -> None:
    app, host, port = build(["--port", "9001", "--latency", "0", "--region", "11"])
    platform = app.state.platform
    assert (host, port) == ("127.0.0.1", 9001)
    assert isinstance(platform, SimulatedTaxPlatform) and isinstance(platform.clock, OffsetClock)
    assert (platform.latency, platform.region) == (timedelta(0), "11")
    assert build([])[2] == 8105
