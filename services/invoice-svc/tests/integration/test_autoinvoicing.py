"""Monthly auto-invoicing (INV-REQ-30, 31) on PostgreSQL: the setting and its history over
HTTP, and the scheduler driven round by round (`run_once`) under the FrozenClock. The service
starts on 2025-03-03 10:00 Asia/Shanghai (before the 10th)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from invoice_svc.autoinvoicing.events import AUTO_INVOICE_SKIPPED
from invoice_svc.autoinvoicing.scheduler import AutoInvoicingScheduler
from invoice_svc.issuing.worker import IssuingWorker
from invoice_svc.taxplatform.simulated import SimulatedTaxPlatform
from invoice_svc.testing import account_event, at, bill_settled, order_refunded

UIN = "100000000301"
SETTING = "/v1/auto-invoice-setting"
RUNS = "/v1/auto-invoice-runs"
EMAIL = "finance@example.com"
COS = ("cos", "对象存储")
CDN = ("cdn", "内容分发网络")


def scheduler(inv: Any, **kwargs: Any) -> AutoInvoicingScheduler:
    rt = inv.runtime
    return AutoInvoicingScheduler(rt.db, rt.outbox, rt.settings, inv.clock, **kwargs)


async def february_bill(inv: Any, uin: str = UIN) -> None:
    """The February 2025 bill: 106.00 at 6% and 109.00 at 9% (two invoices), settled 1 March."""
    await inv.deliver(
        bill_settled(uin, f"{uin}-B1", "2025-02", "106.00", at("2025-03-01 03:00:00"),
                     product=COS),
        bill_settled(uin, f"{uin}-B2", "2025-02", "109.00", at("2025-03-01 03:00:00"),
                     product=CDN, tax_rate="0.09"))


async def turn(inv: Any, enabled: bool, uin: str = UIN, email: str | None = EMAIL) -> Any:
    body: dict[str, Any] = {"enabled": enabled}
    if email is not None:
        body["email"] = email
    return await inv.ok("PUT", SETTING, uin=uin, json_body=body)


async def applications(inv: Any, uin: str = UIN) -> list[Any]:
    return await inv.rows("SELECT application_id, mode, method, total_fen, email, status"
                          " FROM invoice_applications WHERE uin = :u ORDER BY created_at", u=uin)


async def test_inv_req_30_enabled_before_10th_invoices_last_months_bill(inv) -> None:
    """Turned on on 3 March: the March run (from 10 March) invoices February's bill through
    the ordinary by-bill application: money reserved, one invoice per rate, `invoice.applied`,
    method auto; the issuing worker takes it from there."""
    await inv.enterprise(UIN)
    await february_bill(inv)
    view = await turn(inv, True)
    assert view["enabled"] is True and view["email"] == EMAIL
    assert view["this_month"] | {"run_opens_at": None} == {
        "run_month": "2025-03", "bill_month": "2025-02", "enabled": True, "email": EMAIL,
        "run_opens_at": None}
    assert view["this_month"]["run_opens_at"] == "2025-03-09T16:00:00Z"
    assert view["pending"] is None and view["changes_apply_from"] == "2025-03"
    assert [h["enabled"] for h in view["history"]] == [True]
    assert view["history"][0]["changed_by"] == UIN

    sched = scheduler(inv)
    assert not await sched.run_once()  # before the 10th: the setting is not final yet
    assert await inv.rows("SELECT * FROM auto_invoice_runs") == []

    inv.clock.set(at("2025-03-10 00:00:00"))
    assert await sched.run_once() == {"invoice": 1}
    (app,) = await applications(inv)
    application_id, mode, method, total, email, status = app
    assert (mode, method, total, email, status) == ("bills", "auto", 21500, EMAIL, "applied")
    invoices = await inv.rows("SELECT tax_rate, amount_fen, status FROM invoices"
                              " WHERE application_id = :a ORDER BY tax_rate", a=application_id)
    assert [tuple(i) for i in invoices] == [("0.06", 10600, "applied"),
                                            ("0.09", 10900, "applied")]
    assert await inv.ledger(UIN) == (0, 0)  # reserved
    assert set((await inv.balances(UIN)).values()) == {0}
    (applied,) = await inv.events("billing.invoice.applied.v1")
    assert applied["data"]["application_id"] == application_id
    assert applied["data"]["mode"] == "bills" and applied["data"]["total_amount"] == "215.00"
    assert await inv.events(AUTO_INVOICE_SKIPPED) == []

    runs = await inv.ok("GET", RUNS, uin=UIN)
    assert runs["total"] == 1
    (run,) = runs["runs"]
    assert run | {"created_at": None} == {
        "run_month": "2025-03", "bill_month": "2025-02", "outcome": "invoice",
        "application_id": application_id, "bill_amount": "215.00",
        "invoiceable_amount": "215.00", "notice": None, "failure_code": None,
        "created_at": None}

    # The issuing worker issues it like any application.
    platform = SimulatedTaxPlatform(clock=inv.clock)
    worker = IssuingWorker(inv.runtime.db, inv.runtime.outbox, platform, inv.runtime.settings,
                           inv.clock)
    assert await worker.run_once() == 2


async def test_inv_req_31_enabled_on_10th_applies_from_next_month(inv) -> None:
    """Turned on at 10 March 00:00: March's run does nothing (it is not on for March); April's
    run invoices March's bill."""
    await inv.enterprise(UIN)
    await february_bill(inv)
    inv.clock.set(at("2025-03-10 00:00:00"))
    view = await turn(inv, True)
    assert view["enabled"] is True
    assert view["this_month"]["enabled"] is False
    assert view["pending"] == {"enabled": True, "email": EMAIL, "effective_month": "2025-04"}
    assert view["changes_apply_from"] == "2025-04"
    assert view["history"][0]["effective_month"] == "2025-04"

    sched = scheduler(inv)
    assert not await sched.run_once()
    assert await applications(inv) == []
    assert (await inv.ok("GET", RUNS, uin=UIN))["runs"] == []

    await inv.deliver(bill_settled(UIN, "B3", "2025-03", "53.00", at("2025-04-01 03:00:00"),
                                   product=COS))
    inv.clock.set(at("2025-04-09 23:59:59"))
    assert not await sched.run_once()
    view = await inv.ok("GET", SETTING, uin=UIN)
    assert view["this_month"]["enabled"] is True and view["pending"] is None
    inv.clock.set(at("2025-04-10 08:00:00"))
    assert await sched.run_once() == {"invoice": 1}
    (app,) = await applications(inv)
    assert (app.method, app.total_fen) == ("auto", 5300)  # March's bill only, not February's
    assert await inv.ledger(UIN) == (0, 21500)


async def test_inv_req_31_disabled_before_10th_no_run_this_month(inv) -> None:
    """On in March (February invoiced); turned off on 2 April: April's run is recorded as
    skip_disabled and issues nothing; from May there is no run at all."""
    await inv.enterprise(UIN)
    await february_bill(inv)
    await turn(inv, True)
    sched = scheduler(inv)
    inv.clock.set(at("2025-03-10 01:00:00"))
    assert await sched.run_once() == {"invoice": 1}

    await inv.deliver(bill_settled(UIN, "B3", "2025-03", "53.00", at("2025-04-01 03:00:00"),
                                   product=COS))
    inv.clock.set(at("2025-04-02 09:00:00"))
    view = await turn(inv, False, email=None)
    assert view["enabled"] is False and view["this_month"]["enabled"] is False
    assert view["email"] == EMAIL  # kept
    assert [h["enabled"] for h in view["history"]] == [False, True]
    before = await inv.snapshot(UIN)
    inv.clock.set(at("2025-04-10 00:00:00"))
    assert await sched.run_once() == {"skip_disabled": 1}
    assert await inv.snapshot(UIN) == before  # nothing applied, reserved or published
    assert len(await applications(inv)) == 1
    runs = (await inv.ok("GET", RUNS, uin=UIN))["runs"]
    assert [(r["run_month"], r["outcome"]) for r in runs] == [
        ("2025-04", "skip_disabled"), ("2025-03", "invoice")]

    inv.clock.set(at("2025-05-12 00:00:00"))
    assert not await sched.run_once()
    assert (await inv.ok("GET", RUNS, uin=UIN))["total"] == 2


async def test_inv_req_30_short_balance_skips_with_notice_and_event(inv) -> None:
    """February's bill is 215.00 but a refund leaves 165.00 invoiceable: nothing is issued or
    reserved, the run keeps the notice, and `invoice.auto_skipped` tells the customer to
    invoice by hand."""
    await inv.enterprise(UIN)
    await february_bill(inv)
    await inv.deliver(order_refunded(UIN, "R1", "S-old", "50.00", at("2025-01-15 10:00:00")))
    await turn(inv, True)
    inv.clock.set(at("2025-03-10 00:00:00"))
    before = await inv.snapshot(UIN)
    assert await scheduler(inv).run_once() == {"skip_short": 1}
    ledger_, balances, apps, invoices, allocations, _ = await inv.snapshot(UIN)
    assert (ledger_, balances, apps, invoices, allocations) == before[:5]
    (run,) = (await inv.ok("GET", RUNS, uin=UIN))["runs"]
    assert run["outcome"] == "skip_short" and run["application_id"] is None
    assert (run["bill_amount"], run["invoiceable_amount"]) == ("215.00", "165.00")
    assert "2025年2月账单金额为 215.00" in run["notice"] and "手动申请开票" in run["notice"]
    (event,) = await inv.events(AUTO_INVOICE_SKIPPED)
    assert event["subject"] == UIN
    assert event["data"] | {"created_at": None} == {
        "uin": UIN, "run_month": "2025-03", "bill_month": "2025-02", "reason": "skip_short",
        "bill_amount": "215.00", "invoiceable_amount": "165.00", "notice": run["notice"],
        "email": EMAIL, "failure_code": None, "created_at": None}


async def test_inv_req_30_racing_schedulers_one_application_per_account_and_month(
        inv) -> None:
    """Two replicas' rounds at once (small pages, so they page too), then more rounds later in
    the month: exactly one run and one application per account."""
    uins = [f"1000000004{n:02d}" for n in range(5)]
    for uin in uins:
        await inv.enterprise(uin)
        await february_bill(inv, uin)
        await turn(inv, True, uin)
    inv.clock.set(at("2025-03-10 00:00:00"))
    first, second = scheduler(inv, page_size=2), scheduler(inv, page_size=2)
    results = await asyncio.gather(first.run_once(), second.run_once())
    assert sum(r["invoice"] for r in results) == len(uins)
    assert not any(set(r) - {"invoice"} for r in results)
    rows = await inv.rows("SELECT uin, count(*), min(method) FROM invoice_applications"
                          " GROUP BY uin ORDER BY uin")
    assert [tuple(r) for r in rows] == [(uin, 1, "auto") for uin in uins]
    assert len(await inv.events("billing.invoice.applied.v1")) == len(uins)

    inv.clock.set(at("2025-03-20 00:00:00"))
    again = await asyncio.gather(first.run_once(), second.run_once(), first.run_once())
    assert not any(again)
    assert await inv.count("invoice_applications") == len(uins)
    assert (await inv.rows("SELECT count(*) FROM auto_invoice_runs"))[0][0] == len(uins)


@pytest.mark.parametrize(("body", "code"), [
    ({"enabled": "yes", "email": EMAIL}, "InvalidParameterValue"),
    ({"enabled": 1, "email": EMAIL}, "InvalidParameterValue"),
    ({"enabled": True, "email": "not-an-email"}, "InvalidParameterValue.Email"),
    ({"enabled": True, "email": "a@b"}, "InvalidParameterValue.Email"),
    ({"email": EMAIL}, "MissingParameter"),
    ({"enabled": True}, "MissingParameter"),
    ({"enabled": True, "email": EMAIL, "day": 3}, "UnknownParameter"),
])
async def test_inv_req_30_bad_input_refused(inv, body: dict[str, Any], code: str) -> None:
    await inv.enterprise(UIN)
    await inv.refused("PUT", SETTING, code, 400, uin=UIN, json_body=body)
    view = await inv.ok("GET", SETTING, uin=UIN)
    assert view["history"] == [] and view["enabled"] is False


async def test_inv_req_30_turning_on_needs_an_invoice_title(inv) -> None:
    """No title, no auto-invoicing (stable code as for applying); turning off needs none."""
    await inv.personal(UIN)
    body = await inv.refused("PUT", SETTING, "FailedOperation.InvoiceTitleMissing", 409,
                             uin=UIN, json_body={"enabled": True, "email": EMAIL})
    assert "自动开票" in body["detail"]
    view = await turn(inv, False)
    assert view["history"] == [] and view["enabled"] is False
    await inv.ok("POST", "/v1/invoice-title", uin=UIN, json_body={"title_type": "personal_general"})
    assert (await turn(inv, True))["this_month"]["enabled"] is True


async def test_inv_req_30_refused_application_recorded_as_failed_and_customer_told(
        inv) -> None:
    """On, but by the 10th the account can no longer be invoiced here (moved to the
    international site): the application is refused as a customer's would be, nothing is
    reserved, the run is `failed` with the code, and `invoice.auto_skipped` tells the
    customer; later rounds do not retry it."""
    await inv.enterprise(UIN)
    await february_bill(inv)
    await turn(inv, True)
    await inv.deliver(account_event(UIN, "verified", site="international"))
    inv.clock.set(at("2025-03-10 00:00:00"))
    before = await inv.snapshot(UIN)
    sched = scheduler(inv)
    assert await sched.run_once() == {"failed": 1}
    assert (await inv.snapshot(UIN))[:5] == before[:5]
    (run,) = (await inv.ok("GET", RUNS, uin=UIN))["runs"]
    assert run["outcome"] == "failed" and run["application_id"] is None
    assert run["failure_code"] == "UnsupportedOperation.InternationalSite"
    assert "手动申请开票" in run["notice"]
    (event,) = await inv.events(AUTO_INVOICE_SKIPPED)
    assert event["data"]["reason"] == "failed"
    assert event["data"]["failure_code"] == "UnsupportedOperation.InternationalSite"
    assert not await sched.run_once()


async def test_inv_req_30_31_embedded_sqlite(make_invoice) -> None:
    """The same run on SQLite (embedded mode): once per month, by bill, method auto."""
    inv = await make_invoice(database="sqlite")
    await inv.enterprise(UIN)
    await february_bill(inv)
    await turn(inv, True)
    inv.clock.set(at("2025-03-10 00:00:00"))
    first, second = scheduler(inv), scheduler(inv)
    assert await first.run_once() == {"invoice": 1}
    assert not await second.run_once()
    (app,) = await applications(inv)
    assert (app.mode, app.method, app.total_fen) == ("bills", "auto", 21500)
    assert await inv.ledger(UIN) == (0, 0)
