"""INV-REQ-18: concurrent applications never invoice the same money twice."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from invoice_svc.testing import at, order_paid
from kit.money import format_yuan

APPLY = "/v1/invoice-applications"
INSUFFICIENT = "FailedOperation.InvoiceableAmountInsufficient"
ROUNDS = 20
CONCURRENT = 50


async def race(inv, uin: str, rng: random.Random, *, concurrent: int) -> tuple[int, int]:
    """Fund an account, fire `concurrent` applications by amount at once whose sum exceeds
    its balance, check the outcome; returns (winners, losers)."""
    await inv.enterprise(uin, bank=False)
    start = at("2025-01-01 10:00:00")
    events = [order_paid(uin, f"{uin}-S{i}", format_yuan(rng.randint(5_00, 400_00)),
                         start + timedelta(minutes=i), tax_rate=rng.choice(["0.06", "0.09"]))
              for i in range(8)]
    await inv.deliver(*events)
    await inv.set_legacy(uin, format_yuan(rng.randint(0, 300_00)))
    legacy, records = await inv.ledger(uin)
    initial = legacy + records
    amounts = [rng.randint(1, initial // 10) for _ in range(concurrent)]
    while sum(amounts) <= initial:
        amounts = [a * 2 for a in amounts]
    answers = await asyncio.gather(*(
        inv.call("POST", APPLY, uin=uin, json_body={
            "mode": "amount", "total_amount": format_yuan(a), "email": "f@example.com"})
        for a in amounts))
    won = [a for a, answer in zip(amounts, answers, strict=True) if answer.status_code == 200]
    lost = [a for a, answer in zip(amounts, answers, strict=True) if answer.status_code != 200]
    for answer in answers:
        if answer.status_code != 200:
            assert (answer.status_code, answer.json()["code"]) == (409, INSUFFICIENT), answer.text
    reserved = sum(won)
    legacy_after, records_after = await inv.ledger(uin)
    assert reserved <= initial
    assert legacy_after + records_after == initial - reserved
    assert 0 <= legacy_after <= legacy and records_after >= 0
    # Balances only go down, so each loser was refused when less than its amount was left.
    assert all(initial - reserved < a for a in lost)
    stored = await inv.rows("SELECT coalesce(sum(total_fen), 0), count(*) FROM"
                            " invoice_applications WHERE uin = :uin", uin=uin)
    assert tuple(stored[0]) == (reserved, len(won))
    allocated = await inv.rows(
        "SELECT coalesce(sum(a.amount_fen), 0) FROM application_allocations a JOIN"
        " invoice_applications p ON p.application_id = a.application_id WHERE p.uin = :uin",
        uin=uin)
    assert allocated[0][0] == reserved
    balances = await inv.balances(uin)
    assert all(b >= 0 for b in balances.values())
    assert sum(balances.values()) == records_after
    return len(won), len(lost)


async def test_inv_req_18_concurrent_applications_never_overdraw_postgresql(inv) -> None:
    """INV-REQ-18: 50 concurrent applications by amount on one account, together asking more
    than it has, repeated 20 times: the total reserved never exceeds the invoiceable amount
    by a fen, and every loser is told the amount is insufficient."""
    rng = random.Random(18)
    outcomes = [await race(inv, f"30000000{n:04d}", rng, concurrent=CONCURRENT)
                for n in range(ROUNDS)]
    assert all(won > 0 and lost > 0 for won, lost in outcomes)


async def test_inv_req_18_concurrent_applications_never_overdraw_sqlite(make_invoice) -> None:
    """The same on SQLite (embedded mode): no row locks there, the database write lock
    taken by the ledger upsert serialises the writers."""
    inv = await make_invoice(database="sqlite")
    rng = random.Random(81)
    outcomes = [await race(inv, f"40000000{n:04d}", rng, concurrent=12) for n in range(3)]
    assert all(won > 0 and lost > 0 for won, lost in outcomes)


async def test_inv_req_18_concurrent_retries_with_one_key_apply_once(inv) -> None:
    """Concurrent retries carrying one idempotency key: one application, one answer."""
    uin = "100000000001"
    await inv.enterprise(uin)
    await inv.deliver(order_paid(uin, "S1", "100.00", at("2025-01-05 10:00:00")))
    answers = await asyncio.gather(*(
        inv.call("POST", APPLY, uin=uin, headers={"Idempotency-Key": "same"}, json_body={
            "mode": "amount", "total_amount": "10.00", "email": "f@example.com"})
        for _ in range(10)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["application_id"] for a in answers}) == 1
    assert await inv.ledger(uin) == (0, 9000)
    assert await inv.count("invoice_applications") == 1
