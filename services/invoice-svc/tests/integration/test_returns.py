"""Returns (退票, INV-REQ-21..25) on PostgreSQL: whole flows through the simulated tax platform
with red-letter forms, red invoices, released money and re-invoicing; forbidden transitions,
bad input and the operator's decisions over the API. Time moves only with the FrozenClock
that the service, the workers and the platform read; workers are driven by `run_once()`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from invoice_svc.issuing.worker import IssuingWorker
from invoice_svc.returns.worker import ReturnsWorker
from invoice_svc.taxplatform.shared import platform_for
from invoice_svc.taxplatform.simulated import SimulatedTaxPlatform
from invoice_svc.testing import at, order_paid
from sqlalchemy import text

UIN = "100000000088"
OTHER = "100000000099"
APPLY = "/v1/invoice-applications"
EMAIL = "finance@example.com"
LATENCY = timedelta(seconds=5)
STEP = timedelta(minutes=10)
INSUFFICIENT = "FailedOperation.InvoiceableAmountInsufficient"
FORBIDDEN = "FailedOperation.InvoiceStatusTransitionForbidden"


class Returns:
    """The service, one simulated platform shared by an issuing and a returns worker."""

    def __init__(self, inv: Any, *, replicas: int = 1):
        self.inv = inv
        self.platform = SimulatedTaxPlatform(clock=inv.clock, latency=LATENCY)
        rt = inv.runtime
        self.issuing = IssuingWorker(rt.db, rt.outbox, self.platform, rt.settings, inv.clock)
        self.workers = [ReturnsWorker(rt.db, rt.outbox, self.platform, rt.settings, inv.clock)
                        for _ in range(replicas)]

    async def issue(self, total: str) -> tuple[str, str]:
        """Apply for `total` (one tax rate) and drive issuing to the end: (id, number)."""
        applied = await self.inv.ok("POST", APPLY, uin=UIN, json_body={
            "mode": "amount", "total_amount": total, "email": EMAIL})
        (invoice_id,) = [i["invoice_id"] for i in applied["invoices"]]
        for _ in range(5):
            await self.issuing.run_once()
            if await self.status(invoice_id) != "issuing":
                break
            self.inv.clock.advance(STEP)
        detail = await self.inv.ok("GET", f"/v1/invoices/{invoice_id}", uin=UIN)
        assert detail["status"] == "issued", detail
        return invoice_id, detail["number"]

    async def rounds(self, n: int = 3) -> None:
        """Rounds of the returns workers, past the platform's latency each time."""
        for _ in range(n):
            for worker in self.workers:
                await worker.run_once()
            self.inv.clock.advance(STEP)

    async def status(self, invoice_id: str) -> str:
        (row,) = await self.inv.rows("SELECT status FROM invoices WHERE invoice_id = :i",
                                     i=invoice_id)
        return row[0]

    async def submit(self, invoice_id: str, **body: Any) -> dict[str, Any]:
        return await self.inv.ok("POST", f"/v1/invoices/{invoice_id}/returns", uin=UIN,
                                 json_body=body)

    async def state(self, invoice_id: str) -> dict[str, Any]:
        return await self.inv.ok("GET", f"/v1/invoices/{invoice_id}/returns", uin=UIN)


@pytest.fixture
def ret(inv) -> Returns:
    return Returns(inv)


async def funded(inv: Any, *amounts: str) -> None:
    await inv.enterprise(UIN, title="enterprise_special")
    await inv.deliver(*[order_paid(UIN, f"S{n}", amount,
                                   at("2025-02-01 10:00:00") + timedelta(hours=n))
                        for n, amount in enumerate(amounts)])


async def apply_refused(inv: Any, total: str) -> None:
    await inv.refused("POST", APPLY, INSUFFICIENT, uin=UIN, json_body={
        "mode": "amount", "total_amount": total, "email": EMAIL})


async def test_inv_req_23_not_deducted_red_invoice_voids_releases_and_reinvoices(
        inv, ret) -> None:
    """数电, not deducted: we raise the form (01, no confirmation), the platform issues the
    red invoice, the blue one is voided, its money is invoiceable again (not before), the red
    invoice is downloadable and `invoice.returned` says how much was released."""
    await funded(inv, "106.00")
    blue_id, blue_number = await ret.issue("106.00")
    assert await inv.ledger(UIN) == (0, 0)

    submitted = await ret.submit(blue_id, reason="wrong_amount", description="金额开错",
                                 deducted=False)
    assert submitted["status"] == "returning" and submitted["form_raised_by"] == "seller"
    assert submitted["complete_from"] and submitted["complete_by"]
    await apply_refused(inv, "106.00")  # nothing released while the return is in progress

    await ret.workers[0].run_once()  # raises the form: 01, red invoice due after latency
    state = await ret.state(blue_id)
    assert state["status"] == "returning"
    assert state["current"]["form_state"] == "01" and state["current"]["red_form_number"]
    assert await inv.ledger(UIN) == (0, 0)
    await apply_refused(inv, "106.00")

    await ret.rounds(2)
    state = await ret.state(blue_id)
    current = state["current"]
    assert state["status"] == "voided" and current["state"] == "completed"
    assert current["released_amount"] == "106.00"
    red_id, red_number = current["red_invoice_id"], current["red_invoice_number"]
    assert red_id and len(red_number) == 20 and red_number != blue_number
    assert await inv.ledger(UIN) == (0, 10600)

    red = await inv.ok("GET", f"/v1/invoices/{red_id}", uin=UIN)
    assert (red["kind"], red["status"], red["amount"]) == ("red", "issued", "-106.00")
    assert red["original_invoice_id"] == blue_id
    assert red["red_form_number"] == current["red_form_number"]
    assert [line["amount"] for line in red["lines"]] == ["-106.00"]
    pdf = await inv.call("GET", f"/v1/invoices/{red_id}/documents/pdf", uin=UIN)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    await inv.refused("GET", f"/v1/invoices/{red_id}/documents/pdf",
                      "ResourceNotFound.Invoice", 404, uin=OTHER)
    blue = await inv.ok("GET", f"/v1/invoices/{blue_id}", uin=UIN)
    assert [p["status"] for p in blue["progress"]][-2:] == ["returning", "voided"]

    (event,) = await inv.events("billing.invoice.returned.v1")
    assert event["data"]["invoice_id"] == blue_id and event["data"]["released_amount"] == "106.00"
    assert event["data"]["red_invoice_id"] == red_id and event["subject"] == UIN
    assert ret.platform.issued_count("red") == 1

    await ret.rounds(2)  # nothing more happens
    assert ret.platform.issued_count("red") == 1 and len(
        await inv.events("billing.invoice.returned.v1")) == 1
    again_id, _ = await ret.issue("106.00")  # the released balance is invoiced again
    assert again_id != blue_id
    # A red invoice cannot itself be returned, and a voided invoice not again.
    await inv.refused("POST", f"/v1/invoices/{red_id}/returns",
                      "FailedOperation.RedInvoiceNotReturnable", 409, uin=UIN,
                      json_body={"reason": "wrong_amount", "deducted": False})
    await inv.refused("POST", f"/v1/invoices/{blue_id}/returns", FORBIDDEN, 409, uin=UIN,
                      json_body={"reason": "wrong_amount", "deducted": False})


async def test_inv_req_25_deducted_with_buyer_form_is_confirmed_then_red(inv, ret) -> None:
    """Deducted: the buyer raised the form (03) and the customer gives its number; we confirm
    it (04), the platform issues the red invoice, the money comes back."""
    await funded(inv, "53.00")
    blue_id, blue_number = await ret.issue("53.00")
    form = ret.platform.buyer_raises_red_form(blue_number, reason="issue_error")
    assert form.state == "03"

    submitted = await ret.submit(blue_id, reason="company_renamed", deducted=True,
                                 red_form_number=form.form_number)
    assert submitted["status"] == "returning" and submitted["form_raised_by"] == "buyer"
    await ret.workers[0].run_once()
    assert (await ret.platform.query_red_form(form.form_number)).state == "04"
    assert await inv.ledger(UIN) == (0, 0)
    await ret.rounds(2)
    state = await ret.state(blue_id)
    assert state["status"] == "voided" and state["current"]["form_state"] == "04"
    assert state["current"]["red_invoice_number"]
    assert await inv.ledger(UIN) == (0, 5300)


async def test_inv_req_23_deducted_without_number_waits_then_number_later(inv, ret) -> None:
    """Deducted without a form number: red_letter_pending (nothing asked of the platform);
    the number given later moves it to returning and on to the red invoice."""
    await funded(inv, "106.00")
    blue_id, blue_number = await ret.issue("106.00")
    submitted = await ret.submit(blue_id, reason="goods_returned", deducted=True)
    assert submitted["status"] == "red_letter_pending" and submitted["red_form_number"] is None
    await ret.rounds(1)
    assert await ret.status(blue_id) == "red_letter_pending"
    assert ret.platform.stats().forms == {}

    # Bad or missing numbers change nothing.
    path = f"/v1/invoices/{blue_id}/returns/red-form"
    await inv.refused("POST", path, "MissingParameter.RedFormNumber", 400, uin=UIN,
                      json_body={})
    await inv.refused("POST", path, "InvalidParameterValue.RedFormNumber", 400, uin=UIN,
                      json_body={"red_form_number": "no!"})
    assert await ret.status(blue_id) == "red_letter_pending"

    form = ret.platform.buyer_raises_red_form(blue_number)
    given = await inv.ok("POST", path, uin=UIN, json_body={"red_form_number": form.form_number})
    assert given["status"] == "returning" and given["red_form_number"] == form.form_number
    await inv.refused("POST", path, FORBIDDEN, 409, uin=UIN,
                      json_body={"red_form_number": form.form_number})
    await ret.rounds(3)
    assert await ret.status(blue_id) == "voided"
    assert await inv.ledger(UIN) == (0, 10600)


async def test_inv_req_25_inbound_buyer_form_fills_the_number_automatically(inv, ret) -> None:
    """A return waiting for its form picks up the buyer's form from the platform by itself;
    a buyer form for an invoice without a return is left alone (not confirmed, not denied)."""
    await funded(inv, "106.00", "53.00")
    blue_id, blue_number = await ret.issue("106.00")
    other_id, other_number = await ret.issue("53.00")
    await ret.submit(blue_id, reason="goods_returned", deducted=True)
    form = ret.platform.buyer_raises_red_form(blue_number)
    stray = ret.platform.buyer_raises_red_form(other_number)
    await ret.rounds(3)
    state = await ret.state(blue_id)
    assert state["status"] == "voided"
    assert state["current"]["red_form_number"] == form.form_number
    assert (await ret.platform.query_red_form(stray.form_number)).state == "03"
    assert await ret.status(other_id) == "issued"


async def test_inv_req_23_form_lapses_after_72_hours_back_to_red_letter_pending(
        inv, ret) -> None:
    """A form not confirmed within 72 hours lapses (07): red_letter_pending again, the blue
    invoice stays valid, nothing is released; a new form number then completes it."""
    await funded(inv, "106.00")
    blue_id, blue_number = await ret.issue("106.00")
    form = ret.platform.buyer_raises_red_form(blue_number)
    await ret.submit(blue_id, reason="goods_returned", deducted=True,
                     red_form_number=form.form_number)
    inv.clock.advance(timedelta(hours=73))  # before anyone confirmed it
    await ret.rounds(1)
    state = await ret.state(blue_id)
    assert state["status"] == "red_letter_pending"
    assert state["current"]["form_state"] == "07" and "作废" in state["current"]["note"]
    assert state["current"]["red_form_number"] is None
    assert await inv.ledger(UIN) == (0, 0) and ret.platform.issued_count("red") == 0
    await apply_refused(inv, "106.00")
    assert not await inv.events("billing.invoice.returned.v1")

    second = ret.platform.buyer_raises_red_form(blue_number)
    await ret.rounds(3)  # picked up from the inbound forms
    assert await ret.status(blue_id) == "voided"
    assert (await ret.state(blue_id))["current"]["red_form_number"] == second.form_number
    assert await inv.ledger(UIN) == (0, 10600)


async def test_inv_req_21_forbidden_transitions_change_nothing(inv, ret) -> None:
    """An issuing invoice cannot be returned; a return cannot be submitted twice; operator
    actions that the status does not allow are refused; stable codes, nothing changed."""
    await funded(inv, "106.00", "53.00")
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": "53.00", "email": EMAIL})
    issuing_id = applied["invoices"][0]["invoice_id"]
    body = {"reason": "wrong_amount", "deducted": False}
    refused = await inv.refused("POST", f"/v1/invoices/{issuing_id}/returns", FORBIDDEN, 409,
                                uin=UIN, json_body=body)
    assert "已申请" in refused["detail"]
    await ret.issuing.run_once()  # sent to the platform: issuing
    before = await inv.snapshot(UIN)
    refused = await inv.refused("POST", f"/v1/invoices/{issuing_id}/returns", FORBIDDEN, 409,
                                uin=UIN, json_body=body)
    assert "开票中" in refused["detail"]
    assert await inv.snapshot(UIN) == before
    assert await inv.count("invoice_returns") == 0

    inv.clock.advance(STEP)
    await ret.issuing.run_once()
    blue_id, _ = await ret.issue("106.00")
    await ret.submit(blue_id, reason="wrong_amount", deducted=True)
    before = await inv.snapshot(UIN)
    await inv.refused("POST", f"/v1/invoices/{blue_id}/returns", FORBIDDEN, 409, uin=UIN,
                      json_body=body)
    # 数电 returns need no review: approving or completing by hand is refused.
    await inv.refused("POST", f"/v1/operator/invoices/{blue_id}/returns/approve", FORBIDDEN,
                      409, kind="operator")
    await inv.refused("POST", f"/v1/operator/invoices/{issuing_id}/returns/complete",
                      FORBIDDEN, 409, kind="operator")
    assert await inv.snapshot(UIN) == before
    assert await ret.status(blue_id) == "red_letter_pending"
    (count,) = await inv.rows("SELECT count(*) FROM invoice_returns WHERE state = 'open'")
    assert count[0] == 1


async def test_inv_req_22_bad_input_is_refused_and_changes_nothing(inv, ret) -> None:
    await funded(inv, "106.00")
    blue_id, _ = await ret.issue("106.00")
    before = await inv.snapshot(UIN)
    path = f"/v1/invoices/{blue_id}/returns"
    cases = [
        ({"reason": "wrong_amount", "deducted": False, "description": "字" * 101},
         "InvalidParameterValue.ReturnDescriptionTooLong"),
        ({"reason": "changed_my_mind", "deducted": False}, "InvalidParameterValue.ReturnReason"),
        ({"reason": "wrong_amount"}, "MissingParameter.Deducted"),
        ({"reason": "wrong_amount", "deducted": False, "red_form_number": "44250301000000000001"},
         "InvalidParameterValue.RedFormNumberNotApplicable"),
        ({"reason": "wrong_amount", "deducted": False, "courier_company": "顺丰",
          "tracking_number": "SF123456"}, "InvalidParameterValue.CourierNotApplicable"),
    ]
    for body, code in cases:
        answer = await inv.refused("POST", path, code, uin=UIN, json_body=body)
        assert 400 <= answer["status"] < 500
    answer = await inv.call("POST", path, uin=UIN, json_body={"deducted": False})
    assert answer.status_code == 400 and answer.json()["code"] == "MissingParameter"
    assert await inv.snapshot(UIN) == before
    assert await ret.status(blue_id) == "issued" and await inv.count("invoice_returns") == 0
    ok = await ret.submit(blue_id, reason="wrong_amount", deducted=False,
                          description="字" * 100)
    assert ok["description"] == "字" * 100


async def test_inv_req_24_operator_reject_then_customer_resubmits(inv, ret) -> None:
    """The operator rejects with a reason (return_rejected, nothing released); the customer
    may submit again. There is no way to withdraw a return."""
    await funded(inv, "106.00")
    blue_id, _ = await ret.issue("106.00")
    await ret.submit(blue_id, reason="goods_returned", deducted=True)
    reject = f"/v1/operator/invoices/{blue_id}/returns/reject"
    await inv.refused("POST", reject, "InvalidParameterValue", 400, kind="operator",
                      json_body={"reason": ""})
    rejected = await inv.ok("POST", reject, kind="operator",
                            json_body={"reason": "未收到红字确认单"})
    assert rejected["status"] == "return_rejected" and rejected["state"] == "rejected"
    state = await ret.state(blue_id)
    assert state["status"] == "return_rejected" and state["withdrawable"] is False
    assert state["current"]["decision_reason"] == "未收到红字确认单"
    assert await inv.ledger(UIN) == (0, 0)
    for method in ("DELETE", "PUT"):
        answer = await inv.call(method, f"/v1/invoices/{blue_id}/returns", uin=UIN)
        assert answer.status_code in (404, 405)

    again = await ret.submit(blue_id, reason="wrong_amount", deducted=False)
    assert again["status"] == "returning"
    await ret.rounds(3)
    state = await ret.state(blue_id)
    assert state["status"] == "voided" and len(state["returns"]) == 2
    assert [r["state"] for r in state["returns"]] == ["completed", "rejected"]
    assert await inv.ledger(UIN) == (0, 10600)


async def test_inv_req_24_legacy_electronic_completed_by_operator(inv, ret) -> None:
    """Legacy electronic: returning at once, completed by hand on the 2nd business day:
    voided, released, `invoice.returned` with no red invoice."""
    await funded(inv, "106.00")
    blue_id, _ = await ret.issue("106.00")
    async with inv.runtime.db.engine.begin() as conn:  # a legacy invoice (no API makes one)
        await conn.execute(text("UPDATE invoices SET medium = 'electronic' WHERE invoice_id = :i"),
                           {"i": blue_id})
    submitted = await ret.submit(blue_id, reason="wrong_invoice_type")
    assert submitted["status"] == "returning" and submitted["complete_by"]
    await ret.rounds(1)
    assert await ret.status(blue_id) == "returning" and ret.platform.stats().forms == {}
    done = await inv.ok("POST", f"/v1/operator/invoices/{blue_id}/returns/complete",
                        kind="operator")
    assert done["status"] == "voided" and done["released_amount"] == "106.00"
    assert await inv.ledger(UIN) == (0, 10600)
    (event,) = await inv.events("billing.invoice.returned.v1")
    assert event["data"]["completed_by"] == "operator" and event["data"]["red_invoice_id"] is None


async def test_inv_req_21_operator_routes_refused_to_customers_and_other_accounts_404(
        inv, ret) -> None:
    await funded(inv, "106.00")
    blue_id, _ = await ret.issue("106.00")
    for action in ("approve", "reject", "complete"):
        await inv.refused("POST", f"/v1/operator/invoices/{blue_id}/returns/{action}",
                          "UnauthorizedOperation.CallerKind", 403, uin=UIN,
                          json_body={"reason": "x"} if action == "reject" else None)
    body = {"reason": "wrong_amount", "deducted": False}
    await inv.refused("POST", f"/v1/invoices/{blue_id}/returns", "ResourceNotFound.Invoice",
                      404, uin=OTHER, json_body=body)
    await inv.refused("GET", f"/v1/invoices/{blue_id}/returns", "ResourceNotFound.Invoice",
                      404, uin=OTHER)
    await inv.refused("POST", f"/v1/invoices/{blue_id}/returns/red-form",
                      "ResourceNotFound.Invoice", 404, uin=OTHER,
                      json_body={"red_form_number": "44250301000000000001"})
    await inv.refused("POST", f"/v1/operator/invoices/{blue_id}/returns/reject", FORBIDDEN,
                      409, kind="operator", json_body={"reason": "无退票申请"})
    assert await ret.status(blue_id) == "issued" and await inv.count("invoice_returns") == 0


async def test_inv_req_23_several_workers_issue_one_red_invoice(inv) -> None:
    """Three returns workers racing: one form, one red invoice, one release per return."""
    ret = Returns(inv, replicas=3)
    await funded(inv, "10.60", "10.60", "10.60")
    ids = [(await ret.issue("10.60"))[0] for _ in range(3)]
    for invoice_id in ids:
        await ret.submit(invoice_id, reason="wrong_amount", deducted=False)
    for _ in range(4):
        await asyncio.gather(*(w.run_once() for w in ret.workers))
        inv.clock.advance(STEP)
    assert [await ret.status(i) for i in ids] == ["voided"] * 3
    assert ret.platform.issued_count("red") == 3
    assert len(ret.platform.stats().forms) == 1 and sum(ret.platform.stats().forms.values()) == 3
    assert len(await inv.events("billing.invoice.returned.v1")) == 3
    assert await inv.ledger(UIN) == (0, 3180)


def test_shared_platform_is_one_per_runtime() -> None:
    from types import SimpleNamespace

    from invoice_svc.config import Settings
    from kit.clock import FrozenClock

    from .conftest import START

    settings = Settings(database_url="sqlite+aiosqlite://", bus="inprocess")
    one, two = SimpleNamespace(clock=FrozenClock(START)), SimpleNamespace(clock=FrozenClock(START))
    assert platform_for(one, settings) is platform_for(one, settings)
    assert platform_for(one, settings) is not platform_for(two, settings)


async def test_inv_req_23_return_flow_on_sqlite(make_invoice) -> None:
    """The same tables and guarded updates work on SQLite (no FOR UPDATE there)."""
    inv = await make_invoice(database="sqlite")
    ret = Returns(inv)
    await funded(inv, "106.00")
    blue_id, _ = await ret.issue("106.00")
    await ret.submit(blue_id, reason="wrong_amount", deducted=False)
    await ret.rounds(3)
    assert await ret.status(blue_id) == "voided" and await inv.ledger(UIN) == (0, 10600)


async def _legacy(inv: Any, invoice_id: str, medium: str, status: str) -> None:
    """A legacy invoice (no API issues one any more)."""
    async with inv.runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE invoices SET medium = :m, status = :s"
                                " WHERE invoice_id = :i"), {"m": medium, "s": status,
                                                             "i": invoice_id})


async def test_inv_req_24_paper_return_reviewed_approved_completed(inv, ret) -> None:
    """Paper special, not deducted: courier details required, materials listed, review within
    1 business day; approved -> returning; completed by hand -> voided and released."""
    await funded(inv, "106.00")
    blue_id, _ = await ret.issue("106.00")
    await _legacy(inv, blue_id, "paper", "issued")
    body = {"reason": "wrong_invoice_type", "deducted": False, "courier_company": "顺丰速运",
            "tracking_number": "SF1234567890"}
    refused = await inv.refused("POST", f"/v1/invoices/{blue_id}/returns", FORBIDDEN, 409,
                                uin=UIN, json_body=body)
    assert "寄出" in refused["detail"]  # a paper invoice is returned once mailed
    await _legacy(inv, blue_id, "paper", "mailed")
    await inv.refused("POST", f"/v1/invoices/{blue_id}/returns",
                      "MissingParameter.TrackingNumber", 400, uin=UIN,
                      json_body=body | {"tracking_number": None})
    submitted = await ret.submit(blue_id, **body)
    assert submitted["status"] == "return_pending" and submitted["review_by"]
    assert submitted["materials"] == ["invoice_copy_original", "deduction_copy_original"]
    complete = f"/v1/operator/invoices/{blue_id}/returns/complete"
    await inv.refused("POST", complete, FORBIDDEN, 409, kind="operator")
    approved = await inv.ok("POST", f"/v1/operator/invoices/{blue_id}/returns/approve",
                            kind="operator")
    assert approved["status"] == "returning" and approved["decision"] == "approved"
    assert await inv.ledger(UIN) == (0, 0)
    done = await inv.ok("POST", complete, kind="operator")
    assert done["status"] == "voided" and await inv.ledger(UIN) == (0, 10600)


async def test_inv_req_26_lost_invoice_remedy(inv, ret) -> None:
    await funded(inv, "106.00", "53.00")
    digital_id, _ = await ret.issue("106.00")
    remedy = await inv.ok("GET", f"/v1/invoices/{digital_id}/lost-invoice-remedy", uin=UIN)
    assert remedy["action"] == "download_again" and remedy["documents"] == ["pdf", "xml"]
    paper_id, _ = await ret.issue("53.00")
    await _legacy(inv, paper_id, "paper", "mailed")
    remedy = await inv.ok("GET", f"/v1/invoices/{paper_id}/lost-invoice-remedy", uin=UIN)
    assert remedy["action"] == "stub_scan" and remedy["ready_from"] < remedy["ready_by"]
    assert remedy["ticket_fields"] == ["原因", "发票号码", "金额"]
    await inv.refused("GET", f"/v1/invoices/{paper_id}/lost-invoice-remedy",
                      "ResourceNotFound.Invoice", 404, uin=OTHER)


async def test_inv_req_23_operator_cannot_reject_while_the_form_is_with_the_platform(
        inv, ret) -> None:
    """The form request reached the platform but its answer was lost: the platform will issue
    the red invoice regardless, so an operator's rejection now is refused (nothing changes),
    and the return still ends voided with the money released, once."""
    await funded(inv, "106.00")
    blue_id, _ = await ret.issue("106.00")
    await ret.submit(blue_id, reason="wrong_amount", description="金额开错", deducted=False)
    ret.platform.faults.lose_answer_next(1, on="request_red_form")
    await ret.workers[0].run_once()
    assert (await ret.state(blue_id))["current"]["form_state"] is None
    before = await inv.snapshot(UIN)
    await inv.refused("POST", f"/v1/operator/invoices/{blue_id}/returns/reject",
                      "FailedOperation.RedInvoiceInProgress", 409, kind="operator",
                      json_body={"reason": "资料不全"})
    assert await inv.snapshot(UIN) == before and await ret.status(blue_id) == "returning"
    inv.clock.advance(timedelta(minutes=10))  # past the worker's backoff
    await ret.rounds(4)
    assert await ret.status(blue_id) == "voided"
    assert await inv.ledger(UIN) == (0, 10600)
    assert ret.platform.issued_count("red") == 1
    assert len(await inv.events("billing.invoice.returned.v1")) == 1


async def test_inv_req_23_platform_refusing_the_form_sends_the_return_back_to_pending(
        inv, ret) -> None:
    """A business refusal of our red-letter form is not retried forever: the return waits in
    red_letter_pending with the platform's reason; the invoice stays valid, nothing released."""
    await funded(inv, "106.00")
    blue_id, _ = await ret.issue("106.00")
    await ret.submit(blue_id, reason="wrong_amount", description="金额开错", deducted=False)
    ret.platform.faults.reject_next(1, "E2004", "蓝字发票状态异常", on="request_red_form")
    await ret.workers[0].run_once()
    state = await ret.state(blue_id)
    assert state["status"] == "red_letter_pending"
    assert "E2004" in (state["current"]["note"] or "")
    assert await inv.ledger(UIN) == (0, 0) and ret.platform.issued_count("red") == 0
