"""The real broker (RabbitMQ) end to end, and the billing core's contract as tools/sim
produces it."""

from __future__ import annotations

from collections import defaultdict

import aio_pika
from invoice_svc.testing import account_event, at, order_paid
from kit.messaging import QueueSpec
from kit.messaging.probe import wait_for
from kit.money import parse_yuan
from sim.generator import SimConfig, generate

UIN = "100000000001"
LEDGER = "invoice-svc.ledger"


async def test_evt_req_1_rabbitmq_events_in_and_invoice_applied_out(rabbit_names, amqp_url,
                                                          make_invoice) -> None:
    """EVT-REQ-1: billing-core and iam events arrive over RabbitMQ; the application's
    `billing.invoice.applied.v1` leaves through the outbox relay with its event id."""
    ledger_queue = rabbit_names(LEDGER)
    rabbit_names("invoice-svc.accounts")
    prefix = ledger_queue[: -len(LEDGER)]
    audit = rabbit_names("audit")
    inv = await make_invoice(bus="rabbitmq", amqp_url=amqp_url,
                             events_exchange=rabbit_names("events"),
                             dlx_exchange=rabbit_names("dlx"), queue_prefix=prefix,
                             run_relay=True, relay_poll_seconds=0.2)
    await inv.runtime.bus.declare(QueueSpec(audit, ("invoice.applied",)))
    await inv.deliver(account_event(UIN), order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00")))
    await inv.ok("POST", "/v1/invoice-title", uin=UIN,
                 json_body={"title_type": "enterprise_general"})
    applied = await inv.ok("POST", "/v1/invoice-applications", uin=UIN, json_body={
        "mode": "amount", "total_amount": "10.00", "email": "f@example.com"})

    connection = await aio_pika.connect(amqp_url)
    received: list[aio_pika.abc.AbstractIncomingMessage] = []
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(audit, ensure=True)

        async def arrived() -> bool:
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                received.append(message)
            return bool(received)

        await wait_for(arrived, within=20, what="invoice.applied on the broker")
    finally:
        await connection.close()
    (message,) = received
    (event,) = await inv.events("billing.invoice.applied.v1")
    assert message.message_id == event["id"]
    assert b'"application_id":"' + applied["application_id"].encode() in message.body


async def test_sim_streams_are_read_as_the_contract_says(inv) -> None:
    """The billing core's payloads as tools/sim writes them all become records, and every
    account ends with invoiceable = cash paid - refunded + settled +/- transfers, marketplace
    apart (INV-REQ-1..3, 6, 7)."""
    events = list(generate(SimConfig(seed=5, accounts=6, months=2)))
    await inv.deliver(*events)
    expected: dict[str, int] = defaultdict(int)
    records = 0
    for event in events:
        data = event.data
        if event.type.startswith("billing.account.transfer"):
            expected[data["sender_uin"]] += parse_yuan(data["amount"])
            expected[data["receiver_uin"]] -= parse_yuan(data["amount"])
            records += 2
            continue
        cash = parse_yuan(data["cash_amount"])
        records += cash > 0
        if not data["marketplace"]:
            sign = -1 if event.type == "billing.order.refunded.v1" else 1
            expected[data["uin"]] += sign * cash
    assert await inv.count("consumption_records") == records
    for uin, fen in expected.items():
        assert (await inv.ledger(uin))[1] == fen, uin
        summary = await inv.ok("GET", "/v1/invoiceable-amount", uin=uin)
        assert parse_yuan(summary["total_amount"]) == fen
        assert sum(parse_yuan(r["amount"]) for r in summary["by_tax_rate"]) == fen


EXPECTED_REFUSALS = {"FailedOperation.InvoiceableAmountInsufficient",
                     "FailedOperation.NegativeInvoiceAmount",
                     "FailedOperation.RecordNotInvoiceable",
                     "FailedOperation.MonthlyBillNotInvoiceable"}


async def test_ledger_invariants_hold_under_random_applications(inv) -> None:
    """A simulated stream, then random applications in all three modes on every account:
    no 500s; every record's invoiced part equals what applications drew from it, stays
    within its cash and keeps its sign; the ledger row equals the sum of balances; every
    application's invoices add up to its allocations (INV-REQ-13, 14, 18)."""
    import random

    rng = random.Random(2026)
    events = list(generate(SimConfig(seed=11, accounts=5, months=3)))
    await inv.deliver(*events)
    uins = sorted({e.data.get("uin") for e in events if e.data.get("uin")})
    for uin in uins:
        await inv.enterprise(uin, bank=False)
        await inv.set_legacy(uin, f"{rng.randint(0, 500)}.{rng.randint(0, 99):02d}")
    outcomes: dict[str, int] = defaultdict(int)
    for _ in range(12):
        for uin in uins:
            page = await inv.ok("GET", "/v1/consumption-records", uin=uin,
                                params={"invoiceable_only": True, "limit": 100})
            bills = (await inv.ok("GET", "/v1/monthly-bills", uin=uin))["bills"]
            total = parse_yuan((await inv.ok("GET", "/v1/invoiceable-amount",
                                             uin=uin))["total_amount"])
            mode = rng.choice(["amount", "amount", "records", "bills"])
            body: dict = {"mode": mode, "email": "f@example.com"}
            if mode == "amount":
                body["total_amount"] = f"{max(1, rng.randint(1, max(1, total + 500))) / 100:.2f}"
                body["match_by"] = rng.choice(["records", "bills"])
            elif mode == "records":
                picked = rng.sample(page["records"], k=min(len(page["records"]), rng.randint(1, 4)))
                if not picked:
                    continue
                body["record_ids"] = [r["record_id"] for r in picked]
            else:
                picked = rng.sample(bills, k=min(len(bills), rng.randint(1, 2)))
                if not picked:
                    continue
                body["months"] = [b["month"] for b in picked]
            answer = await inv.call("POST", "/v1/invoice-applications", uin=uin, json_body=body)
            if answer.status_code == 200:
                outcomes["applied"] += 1
            else:
                assert answer.json()["code"] in EXPECTED_REFUSALS, (body, answer.text)
                outcomes[answer.json()["code"]] += 1
    assert outcomes["applied"] >= 10 and len(outcomes) >= 3, outcomes

    drawn = {rid: fen for rid, fen in await inv.rows(
        "SELECT record_id, sum(amount_fen) FROM application_allocations"
        " WHERE record_id IS NOT NULL GROUP BY record_id")}
    for rid, _uin, cash, balance, market in await inv.rows(
            "SELECT record_id, uin, cash_fen, balance_fen, marketplace FROM consumption_records"):
        assert cash - balance == drawn.get(rid, 0), rid
        assert (0 <= balance <= cash) or (cash <= balance <= 0), rid
        assert not (market and rid in drawn)
    for uin, legacy, records_fen in await inv.rows(
            "SELECT uin, legacy_fen, records_balance_fen FROM account_ledgers"):
        (sum_balances,) = (await inv.rows(
            "SELECT coalesce(sum(balance_fen), 0) FROM consumption_records WHERE uin = :uin"
            " AND NOT marketplace AND out_of_scope IS NULL", uin=uin))[0]
        assert records_fen == sum_balances and legacy >= 0, uin
    for app_id, total, _legacy in await inv.rows(
            "SELECT application_id, total_fen, legacy_fen FROM invoice_applications"):
        (allocated,) = (await inv.rows("SELECT sum(amount_fen) FROM application_allocations"
                                       " WHERE application_id = :a", a=app_id))[0]
        (invoiced,) = (await inv.rows("SELECT coalesce(sum(amount_fen), 0) FROM invoices"
                                      " WHERE application_id = :a", a=app_id))[0]
        assert allocated == invoiced == total > 0, app_id
