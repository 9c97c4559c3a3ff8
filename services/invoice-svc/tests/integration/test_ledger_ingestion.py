"""The ledger consumer's batches (ledger.ingest): a batch written in a few bulk statements ends
exactly as its events handled one at a time, in any order (EVT-REQ-2, INV-REQ-1, 2, 6, 7)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from invoice_svc.ledger import handlers
from invoice_svc.testing import (
    at,
    bill_settled,
    order_paid,
    order_refunded,
    transfer_completed,
)
from kit.messaging import CloudEvent

A, B = "100000000001", "100000000002"


def stream() -> list[CloudEvent]:
    start = at("2025-01-05 10:00:00")
    events = [
        order_paid(A, "S1", "10.00", start, instance_id="ins-1"),
        order_refunded(A, "R1", "S1", "4.00", start + timedelta(days=1)),
        order_refunded(A, "R2", "S2", "1.50", start + timedelta(days=2)),  # before its purchase
        order_paid(A, "S2", "3.00", start + timedelta(hours=1), instance_id="ins-2",
                   order_type="renew"),
        order_paid(A, "S3", "0.00", start, voucher="30.00"),  # vouchers only: no record
        order_paid(A, "M1", "99.00", start, product=("mkt-website", "企业官网建设"),
                   vendor=("mv-1", "杭州云栈")),  # marketplace: stored, never counted
        bill_settled(A, "B1", "2025-01", "12.34", at("2025-02-01 03:00:00")),
        transfer_completed("T1", A, B, "50.00", start + timedelta(days=3)),
        order_paid(B, "S9", "7.00", start),
    ]
    # The same business fact again under a new event id (the ledger's unique key drops it).
    events.append(order_paid(A, "S1", "10.00", start, instance_id="ins-1"))
    return events


async def state(inv: Any) -> tuple[Any, ...]:
    records = await inv.rows(
        "SELECT uin, kind, source_id, balance_fen, instance_id, order_id, marketplace "
        "FROM consumption_records ORDER BY uin, kind, source_id")
    ledgers = await inv.rows("SELECT uin, legacy_fen, records_balance_fen FROM account_ledgers "
                             "ORDER BY uin")
    return [tuple(r) for r in records], [tuple(r) for r in ledgers]


async def handle(inv: Any, events: list[CloudEvent], *, batched: bool) -> None:
    sub = handlers.subscription(inv.runtime.settings, inv.clock)
    assert sub.batch_handler is not None
    if batched:
        async with inv.runtime.db.transaction() as session:
            await sub.batch_handler(session, events)
        return
    for event in events:
        async with inv.runtime.db.transaction() as session:
            await sub.handler(session, event)


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
async def test_evt_req_2_a_batch_ends_as_its_events_one_at_a_time(make_invoice,
                                                                  database: str) -> None:
    """One batch holding a duplicate, a refund before its purchase, a transfer, marketplace
    and voucher-only payments gives the same records, links and ledger rows as the events
    handled one by one, whatever the order; handling the batch again changes nothing."""
    one_by_one = await make_invoice(database=database, run_consumers=False)
    await handle(one_by_one, stream(), batched=False)
    expected = await state(one_by_one)
    records, ledgers = expected
    assert ledgers == [(A, 0, 1000 - 400 - 150 + 300 + 1234 + 5000), (B, 0, 700 - 5000)]
    assert (A, "refund", "R2", -150, "ins-2", "oS2", False) in records  # linked afterwards
    assert (A, "refund", "R1", -400, "ins-1", "oS1", False) in records
    assert len(records) == 9

    for seed in (1, 2):
        inv = await make_invoice(database=database, run_consumers=False)
        events = stream()
        random.Random(seed).shuffle(events)
        await handle(inv, events, batched=True)
        assert await state(inv) == expected
        await handle(inv, stream(), batched=True)  # the same facts again: nothing moves
        assert await state(inv) == expected
