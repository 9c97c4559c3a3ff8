"""Races on PostgreSQL not covered elsewhere: concurrent requests through the app client that
truly overlap in the database, with exact outcomes (the allowed number succeed, the rest get a
stable 4xx, never a 500) and balances, reservations, statuses and the outbox in agreement.

Overlap is made, never hoped for: a row (or advisory) lock is held from a separate connection,
the requests are fired, `pg_stat_activity` is polled until they all wait on it, and only then
is the lock released. No sleeps synchronise anything.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from invoice_svc.autoinvoicing.scheduler import AutoInvoicingScheduler
from invoice_svc.autoinvoicing.service import setting_lock_key
from invoice_svc.issuing.worker import IssuingWorker
from invoice_svc.returns.worker import ReturnsWorker
from invoice_svc.taxplatform.simulated import SimulatedTaxPlatform
from invoice_svc.testing import account_event, at, bill_settled, order_paid, order_refunded
from kit.messaging.probe import wait_for
from kit.testing import LockGate
from sqlalchemy import text

UIN = "100000000777"
APPLY = "/v1/invoice-applications"
EMAIL = "finance@example.com"
SETTING = "/v1/auto-invoice-setting"
STEP = timedelta(minutes=10)
FORBIDDEN = "FailedOperation.InvoiceStatusTransitionForbidden"
INSUFFICIENT = "FailedOperation.InvoiceableAmountInsufficient"
NOT_INVOICEABLE = "FailedOperation.RecordNotInvoiceable"
OUT_OF_RANGE = "InvalidParameterValue.AllocationOutOfRange"
REUSED = "InvalidParameter.IdempotencyKeyReused"
TITLE_EXISTS = "FailedOperation.InvoiceTitleExists"


# ----------------------------------------------------------------------------- the lock gate

async def gated(inv: Any, sql: str, args: Sequence[Any], waiters: int,
                *calls: Awaitable[Any]) -> list[Any]:
    gate = LockGate(inv.database_url)
    await gate.hold(sql, *args)
    return await gate.run(waiters, *calls)


def hold_ledger(uin: str) -> tuple[str, list[Any]]:
    return "SELECT 1 FROM account_ledgers WHERE uin = $1 FOR UPDATE", [uin]


def hold_invoice(invoice_id: str) -> tuple[str, list[Any]]:
    return "SELECT 1 FROM invoices WHERE invoice_id = $1 FOR UPDATE", [invoice_id]


def outcome(answers: Sequence[httpx.Response]) -> Counter[tuple[int, str | None]]:
    """(status, code) of every answer; none is a 500."""
    seen: Counter[tuple[int, str | None]] = Counter()
    for answer in answers:
        assert answer.status_code < 500, answer.text
        seen[(answer.status_code,
              None if answer.status_code == 200 else answer.json().get("code"))] += 1
    return seen


# ----------------------------------------------------------------------------- set-up

class Platform:
    """One simulated platform, an issuing worker and a returns worker on it."""

    def __init__(self, inv: Any) -> None:
        self.inv = inv
        self.platform = SimulatedTaxPlatform(clock=inv.clock, latency=timedelta(seconds=5))
        rt = inv.runtime
        self.issuing = IssuingWorker(rt.db, rt.outbox, self.platform, rt.settings, inv.clock)
        self.returns = ReturnsWorker(rt.db, rt.outbox, self.platform, rt.settings, inv.clock)

    async def apply(self, total: str, uin: str = UIN, **extra: Any) -> dict[str, Any]:
        return await self.inv.ok("POST", APPLY, uin=uin, json_body={
            "mode": "amount", "total_amount": total, "email": EMAIL} | extra)

    async def issue(self, total: str) -> str:
        (invoice_id,) = [i["invoice_id"] for i in (await self.apply(total))["invoices"]]
        for _ in range(5):
            await self.issuing.run_once()
            if await self.status(invoice_id) == "issued":
                return invoice_id
            self.inv.clock.advance(STEP)
        raise AssertionError("not issued")

    async def status(self, invoice_id: str) -> str:
        (row,) = await self.inv.rows("SELECT status FROM invoices WHERE invoice_id = :i",
                                     i=invoice_id)
        return row[0]

    async def return_rounds(self, n: int = 4) -> None:
        for _ in range(n):
            await self.returns.run_once()
            self.inv.clock.advance(STEP)


async def funded(inv: Any, *amounts: str, uin: str = UIN) -> None:
    await inv.enterprise(uin, title="enterprise_special")
    await inv.deliver(*[order_paid(uin, f"{uin}-S{n}", amount,
                                   at("2025-02-01 10:00:00") + timedelta(hours=n))
                        for n, amount in enumerate(amounts)])


async def consistent(inv: Any, uin: str = UIN) -> None:
    """The ledger row agrees with the record balances, and reservations with allocations:
    what live applications hold plus what is left is exactly what came in."""
    legacy, records = await inv.ledger(uin)
    balances = await inv.balances(uin)
    assert sum(balances.values()) == records
    cash = {rid: c for rid, c in await inv.rows(
        "SELECT record_id, cash_fen FROM consumption_records WHERE uin = :u", u=uin)}
    for rid, balance in balances.items():
        assert min(0, cash[rid]) <= balance <= max(0, cash[rid]), (rid, balance, cash[rid])
    held = {rid: fen for rid, fen in await inv.rows(
        "SELECT a.record_id, sum(a.amount_fen) FROM application_allocations a"
        " JOIN invoice_applications p ON p.application_id = a.application_id"
        " LEFT JOIN invoices i ON i.invoice_id = a.invoice_id"
        " WHERE p.uin = :u AND a.record_id IS NOT NULL"
        " AND coalesce(i.status, p.status) NOT IN ('revoked', 'failed', 'voided')"
        " GROUP BY a.record_id", u=uin)}
    for rid, balance in balances.items():
        assert balance + held.get(rid, 0) == cash[rid], (rid, balance, held.get(rid), cash[rid])
    assert legacy >= 0


async def events(inv: Any, kind: str) -> list[dict[str, Any]]:
    return await inv.events(f"billing.invoice.{kind}.v1")


# ----------------------------------------------------------------------------- returns

async def test_inv_req_23_same_return_submitted_concurrently_one_return_one_red_flow(inv) -> None:
    """Eight identical return requests for one issued 数电 invoice, all waiting on its row:
    one return, the others refused with the transition code; one red invoice, one release,
    one `invoice.returned`."""
    p = Platform(inv)
    await funded(inv, "106.00")
    blue = await p.issue("106.00")
    sql, args = hold_invoice(blue)
    answers = await gated(inv, sql, args, 8, *(
        inv.call("POST", f"/v1/invoices/{blue}/returns", uin=UIN,
                 json_body={"reason": "wrong_amount", "deducted": False}) for _ in range(8)))
    assert outcome(answers) == {(200, None): 1, (409, FORBIDDEN): 7}
    assert await inv.count("invoice_returns") == 1
    await p.return_rounds()
    assert await p.status(blue) == "voided"
    (reds,) = await inv.rows("SELECT count(*) FROM invoices WHERE kind = 'red'")
    assert reds[0] == 1 and p.platform.issued_count() == 2
    assert len(await events(inv, "returned")) == 1
    assert await inv.ledger(UIN) == (0, 10600)
    await consistent(inv)


async def test_inv_req_21_return_submit_racing_revoke_and_the_issuing_worker(inv) -> None:
    """An applied invoice: a revoke and returns race (the returns refused: not issued yet).
    An issuing invoice: returns race the worker recording it issued: either refused while it
    is issuing or accepted once it is issued, at most one, never a 500."""
    p = Platform(inv)
    await funded(inv, "106.00", "53.00")
    applied = (await p.apply("53.00"))["invoices"][0]["invoice_id"]
    sql, args = hold_invoice(applied)
    body = {"reason": "wrong_amount", "deducted": False}
    answers = await gated(
        inv, sql, args, 4, inv.call("POST", f"/v1/invoices/{applied}/revoke", uin=UIN),
        *(inv.call("POST", f"/v1/invoices/{applied}/returns", uin=UIN, json_body=body)
          for _ in range(3)))
    assert answers[0].status_code == 200, answers[0].text
    assert outcome(answers[1:]) == {(409, FORBIDDEN): 3}
    assert await p.status(applied) == "revoked" and await inv.count("invoice_returns") == 0
    assert len(await events(inv, "revoked")) == 1

    issuing = (await p.apply("106.00"))["invoices"][0]["invoice_id"]
    await p.issuing.run_once()
    assert await p.status(issuing) == "issuing"
    inv.clock.advance(STEP)  # the platform has answered: the next round records it issued
    results = await asyncio.gather(p.issuing.run_once(), *(
        inv.call("POST", f"/v1/invoices/{issuing}/returns", uin=UIN, json_body=body)
        for _ in range(4)))
    seen = outcome(results[1:])
    assert set(seen) <= {(200, None), (409, FORBIDDEN)} and seen[(200, None)] <= 1
    if not seen[(200, None)]:
        await p.issuing.run_once()
        assert await p.status(issuing) == "issued"
        await inv.ok("POST", f"/v1/invoices/{issuing}/returns", uin=UIN, json_body=body)
    assert await inv.count("invoice_returns") == 1
    await p.return_rounds()
    assert await p.status(issuing) == "voided"
    assert len(await events(inv, "returned")) == 1 and len(await events(inv, "issued")) == 1
    assert await inv.ledger(UIN) == (0, 15900)
    await consistent(inv)


async def _paper_return(inv: Any, p: Platform) -> str:
    blue = await p.issue("106.00")
    async with inv.runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE invoices SET medium = 'paper', status = 'mailed'"
                                " WHERE invoice_id = :i"), {"i": blue})
    await inv.ok("POST", f"/v1/invoices/{blue}/returns", uin=UIN, json_body={
        "reason": "wrong_invoice_type", "deducted": False, "courier_company": "顺丰速运",
        "tracking_number": "SF1234567890"})
    return blue


async def test_inv_req_24_operator_decisions_race_each_other_one_wins(inv) -> None:
    """Paper return pending review (there is no customer withdraw: INV-REQ-24). Approvals
    racing: one moves it; then completions racing: one completes it, one release, one event;
    a reject racing the completions is refused or, if first, leaves nothing to complete."""
    p = Platform(inv)
    await funded(inv, "106.00")
    blue = await _paper_return(inv, p)
    sql, args = hold_invoice(blue)
    answers = await gated(inv, sql, args, 5, *(
        inv.call("POST", f"/v1/operator/invoices/{blue}/returns/approve", kind="operator")
        for _ in range(5)))
    assert outcome(answers) == {(200, None): 1, (409, FORBIDDEN): 4}
    assert await p.status(blue) == "returning"

    answers = await gated(inv, sql, args, 5, *(
        inv.call("POST", f"/v1/operator/invoices/{blue}/returns/complete", kind="operator")
        for _ in range(4)), inv.call("POST", f"/v1/operator/invoices/{blue}/returns/reject",
                                     kind="operator", json_body={"reason": "材料不全"}))
    seen = outcome(answers)
    assert seen[(200, None)] == 1 and set(seen) <= {(200, None), (409, FORBIDDEN)}, seen
    rejected = answers[-1].status_code == 200
    assert await p.status(blue) == ("return_rejected" if rejected else "voided")
    assert len(await events(inv, "returned")) == (0 if rejected else 1)
    assert await inv.ledger(UIN) == (0, 0 if rejected else 10600)
    (decided,) = await inv.rows("SELECT count(*) FROM invoice_returns WHERE state <> 'open'")
    assert decided[0] == 1
    await consistent(inv)


# ----------------------------------------------------------------------------- applications

async def test_inv_req_18_two_applications_drawing_the_same_records_by_id(inv) -> None:
    """Applications by record ids, and by amount with an explicit allocation, drawing the
    same records at once: money is reserved once; the rest are refused with stable codes."""
    await funded(inv, "100.00", "60.00")
    ids = sorted((await inv.balances(UIN)).keys())
    sql, args = hold_ledger(UIN)
    answers = await gated(inv, sql, args, 6, *(
        inv.call("POST", APPLY, uin=UIN, json_body={
            "mode": "records", "record_ids": ids if n % 2 else ids[:1], "email": EMAIL})
        for n in range(6)))
    seen = outcome(answers)  # the first to lock draws record ids[0]: the others find it at 0
    assert seen == {(200, None): 1, (409, NOT_INVOICEABLE): 5}
    won = sum(int(Decimal(a.json()["total_amount"]) * 100) for a in answers
              if a.status_code == 200)
    legacy, records = await inv.ledger(UIN)
    assert won + records == 16000 and legacy == 0
    assert len(await events(inv, "applied")) == seen[(200, None)]
    await consistent(inv)

    await inv.deliver(order_paid(UIN, "X1", "90.00", at("2025-02-03 10:00:00")))
    target = await inv.record_id(UIN, "X1")
    allocation = {"legacy_amount": "0.00", "lines": [{"record_id": target, "amount": "40.00"}]}
    answers = await gated(inv, sql, args, 5, *(
        inv.call("POST", APPLY, uin=UIN, json_body={
            "mode": "amount", "total_amount": "40.00", "allocation": allocation,
            "email": EMAIL}) for _ in range(5)))
    assert outcome(answers) == {(200, None): 2, (400, OUT_OF_RANGE): 3}
    assert (await inv.balances(UIN))[target] == 1000
    assert len(await events(inv, "applied")) == seen[(200, None)] + 2
    await consistent(inv)


async def test_inv_req_18_application_by_amount_racing_a_refund_event(inv) -> None:
    """Applications by amount and the refund of a record they draw, through the ledger
    consumer, all waiting on the account's ledger row: the refund is counted once, whatever
    the order; nothing is reserved twice; ledger and records agree."""
    await funded(inv, "100.00", "100.00", "100.00")
    refund = order_refunded(UIN, "R1", f"{UIN}-S2", "100.00", at("2025-02-05 10:00:00"))
    sql, args = hold_ledger(UIN)
    gate = LockGate(inv.database_url)
    await gate.hold(sql, *args)
    answers = await gate.run(4, *(inv.call("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": "150.00", "email": EMAIL}) for _ in range(3)),
        _refund_then_wait(inv, refund))
    answers = answers[:3]
    seen = outcome(answers)
    assert set(seen) <= {(200, None), (409, INSUFFICIENT)}
    won = seen[(200, None)]
    assert won in (1, 2)  # 300 before the refund (two fit), 200 after it (one fits)
    legacy, records = await inv.ledger(UIN)
    assert records == 30000 - 10000 - 15000 * won
    (refunds,) = await inv.rows("SELECT count(*) FROM consumption_records WHERE kind='refund'")
    assert refunds[0] == 1
    await inv.redeliver(refund)
    assert await inv.ledger(UIN) == (legacy, records)
    assert len(await events(inv, "applied")) == won
    await consistent(inv)


async def _refund_then_wait(inv: Any, event: Any) -> None:
    """Publish the refund; it is handled once the gate opens (the handler waits on the
    ledger row like the applications)."""
    await inv.publish(event)

    async def handled() -> bool:
        return event.id in await inv.inbox_ids()

    await wait_for(handled, within=20.0, what="the refund handled")


async def test_inv_req_5_legacy_amount_updates_racing_an_application_using_it(inv) -> None:
    """Operator updates of the legacy amount and applications drawing on it serialise on the
    ledger row: each application's legacy part was there when it reserved, the value left is
    what the last writer set less what was drawn after it."""
    await inv.enterprise(UIN, bank=False)
    await inv.set_legacy(UIN, "100.00")
    sql, args = hold_ledger(UIN)
    answers = await gated(
        inv, sql, args, 4,
        inv.call("POST", APPLY, uin=UIN, json_body={
            "mode": "amount", "total_amount": "80.00", "email": EMAIL}),
        inv.call("PUT", f"/v1/operator/accounts/{UIN}/legacy-amount", kind="operator",
                 json_body={"amount": "50.00"}),
        inv.call("POST", APPLY, uin=UIN, json_body={
            "mode": "amount", "total_amount": "40.00", "email": EMAIL}),
        inv.call("PUT", f"/v1/operator/accounts/{UIN}/legacy-amount", kind="operator",
                 json_body={"amount": "70.00"}))
    seen = outcome(answers)
    assert set(seen) <= {(200, None), (409, INSUFFICIENT)}
    assert answers[1].status_code == answers[3].status_code == 200
    applied = await inv.rows("SELECT legacy_fen, total_fen FROM invoice_applications")
    assert all(legacy == total for legacy, total in applied)
    assert len(applied) == seen[(200, None)] - 2 == len(await events(inv, "applied"))
    legacy, records = await inv.ledger(UIN)
    assert records == 0 and 0 <= legacy <= 7000
    (drawn,) = await inv.rows("SELECT coalesce(sum(amount_fen), 0) FROM application_allocations"
                              " WHERE record_id IS NULL")
    assert drawn[0] == sum(total for _, total in applied)


async def test_inv_req_5_legacy_compare_and_set_never_gives_back_what_was_drawn(inv) -> None:
    """The operator sets the legacy amount from what they saw (`expected_amount`) while an
    application draws on it: either the update comes first (and the application draws on
    the new amount) or it is refused as stale; the 80.00 drawn is never made invoiceable
    again."""
    await inv.enterprise(UIN, bank=False)
    await inv.set_legacy(UIN, "100.00")
    sql, args = hold_ledger(UIN)
    apply_, put = await gated(
        inv, sql, args, 2,
        inv.call("POST", APPLY, uin=UIN, json_body={
            "mode": "amount", "total_amount": "80.00", "email": EMAIL}),
        inv.call("PUT", f"/v1/operator/accounts/{UIN}/legacy-amount", kind="operator",
                 json_body={"amount": "120.00", "expected_amount": "100.00"}))
    assert apply_.status_code == 200, apply_.text
    if put.status_code == 200:
        assert await inv.ledger(UIN) == (4000, 0)
    else:
        assert (put.status_code, put.json()["code"]) == (409, "FailedOperation.LegacyAmountChanged")
        assert put.json()["legacy_amount"] == "20.00"
        assert await inv.ledger(UIN) == (2000, 0)
    await inv.refused("PUT", f"/v1/operator/accounts/{UIN}/legacy-amount",
                      "FailedOperation.LegacyAmountChanged", 409, kind="operator",
                      json_body={"amount": "100.00", "expected_amount": "100.00"})
    assert len(await events(inv, "applied")) == 1


async def test_inv_req_21_revoking_both_invoices_of_one_application_at_once(inv) -> None:
    """An application with two invoices (two tax rates): both revoked at once, each waiting
    on its row: each released once, the application ends revoked, two `invoice.revoked`."""
    p = Platform(inv)
    await inv.enterprise(UIN, title="enterprise_special")
    await inv.deliver(order_paid(UIN, "A", "106.00", at("2025-02-01 10:00:00")),
                      order_paid(UIN, "B", "109.00", at("2025-02-01 11:00:00"),
                                 tax_rate="0.09"))
    ids = [i["invoice_id"] for i in (await p.apply("215.00"))["invoices"]]
    assert len(ids) == 2
    gate = LockGate(inv.database_url)
    await gate.hold("SELECT 1 FROM invoices WHERE invoice_id = ANY($1::varchar[]) FOR UPDATE",
                    ids)
    answers = await gate.run(4, *(inv.call("POST", f"/v1/invoices/{i}/revoke", uin=UIN)
                                  for i in ids + ids))
    assert outcome(answers) == {(200, None): 2, (409, FORBIDDEN): 2}
    assert await inv.ledger(UIN) == (0, 21500)
    (status,) = await inv.rows("SELECT status FROM invoice_applications")
    assert status[0] == "revoked"
    assert len(await events(inv, "revoked")) == 2
    await p.issuing.run_once()
    assert p.platform.issued_count() == 0
    await consistent(inv)


async def test_inv_req_12_title_updates_racing_an_application_snapshot_one_title(inv) -> None:
    """Title modifications racing applications: each application's buyer is one committed
    title, never a mix of two; concurrent creates: one title, the rest refused."""
    await funded(inv, "100.00")
    first = {"title_type": "enterprise_special", "address": "地址一", "phone": "0755-1",
             "bank_name": "银行一", "bank_account": "755912345610001"}
    second = {"title_type": "enterprise_general", "address": "地址二", "phone": "0755-2",
              "bank_name": "银行二", "bank_account": "755912345610002"}
    await inv.ok("PUT", "/v1/invoice-title", uin=UIN, json_body=first)
    answers = await asyncio.gather(*(
        inv.call("PUT", "/v1/invoice-title", uin=UIN, json_body=(first, second)[n % 2])
        if n % 3 else inv.call("POST", APPLY, uin=UIN, json_body={
            "mode": "amount", "total_amount": "10.00", "email": EMAIL,
            "show_buyer_bank": True}) for n in range(9)))
    assert outcome(answers) == {(200, None): 9}
    for n, answer in enumerate(answers):
        if n % 3 == 0:
            buyer, kind = answer.json()["buyer"], answer.json()["invoice_type"]
            title = first if buyer["address"] == "地址一" else second
            assert (kind, buyer["phone"], buyer["bank_name"], buyer["bank_account"]) == (
                title["title_type"], title["phone"], title["bank_name"], title["bank_account"])
    (version,) = await inv.rows("SELECT version FROM invoice_titles WHERE uin = :u", u=UIN)
    assert version[0] == 1 + 1 + 6

    other = "100000000778"
    await inv.deliver(account_event(other, "verified", verification_type="enterprise"))
    answers = await asyncio.gather(*(inv.call("POST", "/v1/invoice-title", uin=other,
                                              json_body=second) for _ in range(5)))
    assert outcome(answers) == {(200, None): 1, (409, TITLE_EXISTS): 4}


# ----------------------------------------------------------------------------- idempotency

async def test_inv_req_18_same_idempotency_key_sent_concurrently(inv) -> None:
    """One key, concurrent first requests: one effect. Identical bodies replay the answer;
    a different body with the key is refused with 409 IdempotencyKeyReused. The winner waits
    on the ledger row, the others on the key row."""
    await funded(inv, "100.00")
    body = {"mode": "amount", "total_amount": "10.00", "email": EMAIL}
    sql, args = hold_ledger(UIN)
    answers = await gated(inv, sql, args, 6, *(
        inv.call("POST", APPLY, uin=UIN, headers={"Idempotency-Key": "k-1"},
                 json_body=body if n < 5 else body | {"total_amount": "20.00"})
        for n in range(6)))
    seen = outcome(answers)
    if answers[5].status_code == 200:  # the odd one got there first: all others refused
        assert seen == {(200, None): 1, (409, REUSED): 5}
        reserved = 2000
    else:
        assert seen == {(200, None): 5, (409, REUSED): 1}
        assert len({a.json()["application_id"] for a in answers[:5]}) == 1
        reserved = 1000
    assert await inv.ledger(UIN) == (0, 10000 - reserved)
    assert await inv.count("invoice_applications") == 1
    assert len(await events(inv, "applied")) == 1

    other = "100000000779"
    await inv.deliver(account_event(other, "verified", verification_type="enterprise"))
    answers = await asyncio.gather(*(inv.call(
        "POST", "/v1/invoice-title", uin=other, headers={"Idempotency-Key": "t-1"},
        json_body={"title_type": "enterprise_general"}) for _ in range(6)))
    assert outcome(answers) == {(200, None): 6}
    assert len({a.text for a in answers}) == 1
    (titles,) = await inv.rows("SELECT count(*) FROM invoice_titles WHERE uin = :u", u=other)
    assert titles[0] == 1


# ----------------------------------------------------------------------------- auto-invoicing

async def test_inv_req_31_auto_invoice_setting_changes_racing_each_other(inv) -> None:
    """Identical changes at once record one change (a repeat of the latest is no change);
    on/off at once: the history alternates, the latest is what the last one set, and the
    answer of each is its own change."""
    await inv.enterprise(UIN)
    gate = LockGate(inv.database_url)
    await gate.hold("SELECT pg_advisory_xact_lock($1)", setting_lock_key(UIN))
    answers = await gate.run(6, *(inv.call("PUT", SETTING, uin=UIN, json_body={
        "enabled": True, "email": EMAIL}) for _ in range(6)))
    assert outcome(answers) == {(200, None): 6}
    rows = await inv.rows("SELECT enabled FROM auto_invoice_settings WHERE uin = :u", u=UIN)
    assert [r[0] for r in rows] == [True]

    answers = await asyncio.gather(*(inv.call("PUT", SETTING, uin=UIN, json_body={
        "enabled": bool(n % 2), "email": EMAIL}) for n in range(6)))
    assert outcome(answers) == {(200, None): 6}
    history = [r[0] for r in await inv.rows(
        "SELECT enabled FROM auto_invoice_settings WHERE uin = :u"
        " ORDER BY changed_at, change_id", u=UIN)]
    assert all(a != b for a, b in itertools.pairwise(history))
    latest = (await inv.ok("GET", SETTING, uin=UIN))["enabled"]
    assert latest == history[-1]


async def test_inv_req_30_the_months_run_racing_the_customer_applying_for_the_same_bill(
        inv) -> None:
    """The scheduler's run (by the bill of last month) and the customer applying for the
    same bill, both waiting on the ledger row: the bill is invoiced once; the loser is
    refused (customer) or recorded as failed with a notice (run)."""
    await inv.enterprise(UIN)
    await inv.deliver(bill_settled(UIN, f"{UIN}-B1", "2025-02", "106.00",
                                   at("2025-03-01 03:00:00")))
    await inv.ok("PUT", SETTING, uin=UIN, json_body={"enabled": True, "email": EMAIL})
    inv.clock.set(at("2025-03-10 09:00:00"))
    rt = inv.runtime
    sched = AutoInvoicingScheduler(rt.db, rt.outbox, rt.settings, inv.clock)
    sql, args = hold_ledger(UIN)
    answer, result = await gated(
        inv, sql, args, 2,
        inv.call("POST", APPLY, uin=UIN, json_body={"mode": "bills", "months": ["2025-02"],
                                                    "email": EMAIL}),
        sched.run_once())
    runs = await inv.rows("SELECT outcome, failure_code FROM auto_invoice_runs")
    if answer.status_code == 200:
        assert result == {"failed": 1}
        assert runs == [("failed", "FailedOperation.MonthlyBillNotInvoiceable")]
        assert len(await inv.events("billing.invoice.auto_skipped.v1")) == 1
    else:
        assert (answer.status_code, answer.json()["code"]) == (
            409, "FailedOperation.MonthlyBillNotInvoiceable")
        assert result == {"invoice": 1} and runs == [("invoice", None)]
    assert len(await events(inv, "applied")) == 1
    assert await inv.count("invoice_applications") == 1
    assert await inv.ledger(UIN) == (0, 0)
    await consistent(inv)


async def test_inv_req_31_setting_change_racing_the_months_run(inv) -> None:
    """A change begun just before the 10th that commits after the run opened: the run waits
    for it, so the month's run follows the change (one run per account and month), or the
    change lands after the cutoff and governs next month. Racing schedulers: one run."""
    await inv.enterprise(UIN)
    await inv.deliver(bill_settled(UIN, f"{UIN}-B1", "2025-02", "106.00",
                                   at("2025-03-01 03:00:00")))
    await inv.ok("PUT", SETTING, uin=UIN, json_body={"enabled": True, "email": EMAIL})
    inv.clock.set(at("2025-03-09 23:59:59"))
    gate = LockGate(inv.database_url)
    await gate.hold("SELECT pg_advisory_xact_lock($1)", setting_lock_key(UIN))
    change = asyncio.ensure_future(inv.call("PUT", SETTING, uin=UIN, json_body={
        "enabled": False}))

    await gate.wait_until_blocked(1, "the change waiting")
    inv.clock.set(at("2025-03-10 00:00:01"))
    rt = inv.runtime
    schedulers = [AutoInvoicingScheduler(rt.db, rt.outbox, rt.settings, inv.clock)
                  for _ in range(3)]
    rounds = [asyncio.ensure_future(s.run_once()) for s in schedulers]

    await gate.wait_until_blocked(4, "the schedulers waiting")
    await gate.release()
    answer = await change
    results = await asyncio.gather(*rounds)
    assert answer.status_code == 200, answer.text
    runs = await inv.rows("SELECT run_month, outcome FROM auto_invoice_runs WHERE uin = :u",
                          u=UIN)
    setting = answer.json()
    if setting["pending"] is not None:  # the change was stamped after the cutoff
        assert setting["pending"]["effective_month"] == "2025-04"
        assert runs == [("2025-03", "invoice")]
        assert len(await events(inv, "applied")) == 1
    else:  # stamped before it: this month is off, nothing invoiced
        assert [r[0] for r in runs] in ([], ["2025-03"])
        assert len(await events(inv, "applied")) == 0
    assert sum(sum(r.values()) for r in results) == len(runs)
