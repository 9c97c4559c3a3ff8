"""The consumption ledger from billing-core events (INV-REQ-1..7), read over REST."""

from __future__ import annotations

import random
from datetime import timedelta

from invoice_svc.testing import (
    at,
    bill_settled,
    order_paid,
    order_refunded,
    transfer_completed,
)
from kit.messaging.probe import wait_for

UIN = "100000000001"
CVM = ("cvm", "云服务器")
COS = ("cos", "对象存储")

# The source's 按消费明细开票 screen (seeds/000_db1c864f6d00eb07.txt), newest first, without its
# two 调账 rows (adjustments have no event in the billing core's contract). Refunds name the
# sub-order they refund; the source does not show which, these are plausible.
SOURCE_SCREEN = [
    # (sub-order id, label, instance, time, cash, balance after the 13.52 invoice)
    ("20230904041038537418431", "新购", "ins-48tk4", "2023-09-04 16:51:52", "17.55", "4.03"),
    ("20230901041038384577501", "退款", "ins-fijztnhi", "2023-09-01 15:59:59", "-5.67", "-5.67"),
    ("20230901041038375649991", "退款", "ins-fijztnhi", "2023-09-01 12:30:24", "-4.41", "-4.41"),
    ("20230830041038246532231", "变配", "ins-fijztnhi", "2023-08-30 12:00:53", "7.72", "7.72"),
    ("20230830041038245801881", "续费", "ins-fijztnhi", "2023-08-30 11:16:36", "2.30", "2.30"),
    ("20230830041038243554071", "新购", "ins-fijztnhi", "2023-08-30 10:39:12", "2.30", "2.30"),
    ("20230830041038241335971", "退款", "ins-18164", "2023-08-30 09:55:37", "-17.55", "-17.55"),
    ("20230830041038241137481", "新购", "ins-18164", "2023-08-30 09:53:11", "17.55", "17.55"),
]
REFUNDED = {  # refund id -> refunded sub-order
    "20230901041038384577501": "20230830041038246532231",
    "20230901041038375649991": "20230830041038243554071",
    "20230830041038241335971": "20230830041038241137481",
}
ORDER_TYPES = {"新购": "new", "续费": "renew", "变配": "modify"}


def source_events(uin: str = UIN) -> list:
    events = []
    for sub_order, label, instance, when, cash, _ in SOURCE_SCREEN:
        if label == "退款":
            events.append(order_refunded(uin, sub_order, REFUNDED[sub_order], cash[1:], at(when)))
        else:
            events.append(order_paid(uin, sub_order, cash, at(when), order_type=ORDER_TYPES[label],
                                     instance_id=instance))
    return events


async def test_inv_req_2_source_screen_newest_first_with_balances(inv) -> None:
    """INV-REQ-2: every paid, renewed, modified and refunded sub-order is its own record,
    listed newest first with sub-order id, product, instance, rate, mode, time, cash and
    balance; refunds are negative records; balances follow the source's screen."""
    events = source_events()
    random.Random(7).shuffle(events)  # refunds may arrive before their purchase
    await inv.deliver(*events)
    await inv.enterprise(UIN)
    newest = await inv.record_id(UIN, "20230904041038537418431")
    await inv.ok("POST", "/v1/invoice-applications", uin=UIN, json_body={
        "mode": "amount", "total_amount": "13.52", "email": "finance@example.com",
        "allocation": {"lines": [{"record_id": newest, "amount": "13.52"}]}})

    page = await inv.ok("GET", "/v1/consumption-records", uin=UIN, params={"limit": 100})
    assert page["total_count"] == len(SOURCE_SCREEN)
    shown = [(r["display_id"], r["type_label"], r["instance_id"], r["cash_amount"],
              r["invoiceable_balance"]) for r in page["records"]]
    assert shown == [(s, label, i, cash, bal) for s, label, i, _, cash, bal in SOURCE_SCREEN]
    first = page["records"][0]
    assert first["product_name"] == "云服务器" and first["tax_rate"] == "0.06"
    assert first["billing_mode"] == "prepaid" and first["occurred_at"] == "2023-09-04T08:51:52Z"
    assert first["invoiced_amount"] == "13.52"
    refund = next(r for r in page["records"] if r["display_id"] == "20230830041038241335971")
    assert refund["kind"] == "refund"
    assert refund["related_sub_order_id"] == "20230830041038241137481"
    # 17.55 + 7.72 + 2.30 + 2.30 + 17.55 - 5.67 - 4.41 - 17.55 - 13.52 invoiced = 6.27
    summary = await inv.ok("GET", "/v1/invoiceable-amount", uin=UIN)
    assert summary == {"total_amount": "6.27", "legacy_amount": "0.00",
                       "records_amount": "6.27",
                       "by_tax_rate": [{"tax_rate": "0.06", "amount": "6.27"}]}


async def test_inv_req_2_filters_and_keyset_pages(inv) -> None:
    """INV-REQ-2: records by date range (Asia/Shanghai days), sub-order id (also finds its
    refunds), product; keyset pages cover everything once."""
    await inv.deliver(*source_events(), bill_settled(UIN, "B202308COS", "2023-08", "3.10",
                                                     at("2023-09-01 03:00:00"), product=COS))
    listed = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = await inv.ok("GET", "/v1/consumption-records", uin=UIN, params=params)
        listed += [r["record_id"] for r in page["records"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(listed) == len(set(listed)) == 9

    by_day = await inv.ok("GET", "/v1/consumption-records", uin=UIN,
                          params={"start_date": "2023-09-01", "end_date": "2023-09-01"})
    assert {r["display_id"] for r in by_day["records"]} == {
        "20230901041038384577501", "20230901041038375649991", "2023-08"}
    by_order = await inv.ok("GET", "/v1/consumption-records", uin=UIN,
                            params={"sub_order_id": "20230830041038241137481"})
    assert [r["kind"] for r in by_order["records"]] == ["refund", "purchase"]
    by_product = await inv.ok("GET", "/v1/consumption-records", uin=UIN,
                              params={"product": "对象存储"})
    assert [r["display_id"] for r in by_product["records"]] == ["2023-08"]
    by_code = await inv.ok("GET", "/v1/consumption-records", uin=UIN, params={"product": "cos"})
    assert by_code["total_count"] == 1
    await inv.refused("GET", "/v1/consumption-records", "InvalidParameterValue.Cursor",
                      uin=UIN, params={"cursor": "bm90LWEtY3Vyc29y"})
    await inv.refused("GET", "/v1/consumption-records", "InvalidParameterValue.DateRange",
                      uin=UIN, params={"start_date": "2023-09-02", "end_date": "2023-09-01"})


async def test_inv_req_1_only_cash_is_invoiceable(inv) -> None:
    """INV-REQ-1: vouchers are never invoiceable; an order paid by vouchers only adds nothing."""
    await inv.deliver(
        order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00"), voucher="5.00"),
        order_paid(UIN, "S2", "0.00", at("2025-01-06 10:00:00"), voucher="30.00"),
        order_refunded(UIN, "R1", "S1", "4.00", at("2025-01-07 10:00:00"), voucher="2.00"))
    page = await inv.ok("GET", "/v1/consumption-records", uin=UIN)
    assert [(r["display_id"], r["cash_amount"], r["voucher_amount"], r["invoiceable_balance"])
            for r in page["records"]] == [("R1", "-4.00", "-2.00", "-4.00"),
                                          ("S1", "10.00", "5.00", "10.00")]
    assert (await inv.ok("GET", "/v1/invoiceable-amount", uin=UIN))["total_amount"] == "6.00"


async def test_inv_req_3_postpaid_one_record_per_product_and_month(inv) -> None:
    """INV-REQ-3: a settled month of usage is one record per product, in its billing month's
    bill even though it is settled on the 1st of the next month."""
    await inv.deliver(
        bill_settled(UIN, "B1", "2025-01", "12.34", at("2025-02-01 03:00:00"), product=COS),
        bill_settled(UIN, "B2", "2025-01", "5.00", at("2025-02-01 03:10:00"),
                     product=("clb", "负载均衡")),
        bill_settled(UIN, "B3", "2025-02", "1.00", at("2025-03-01 02:00:00"), product=COS))
    page = await inv.ok("GET", "/v1/consumption-records", uin=UIN)
    assert [(r["display_id"], r["billing_mode"], r["bill_month"]) for r in page["records"]] == [
        ("2025-02", "postpaid", "2025-02"), ("2025-01", "postpaid", "2025-01"),
        ("2025-01", "postpaid", "2025-01")]
    bills = await inv.ok("GET", "/v1/monthly-bills", uin=UIN)
    assert [(b["month"], b["invoiceable_amount"]) for b in bills["bills"]] == [
        ("2025-02", "1.00"), ("2025-01", "17.34")]


async def test_inv_req_4_monthly_bills_with_products_and_invoiced(inv) -> None:
    """INV-REQ-4: per month, cash paid, invoiced, invoiceable; expandable per product."""
    await inv.deliver(
        order_paid(UIN, "S1", "100.00", at("2025-01-05 10:00:00")),
        order_paid(UIN, "S2", "50.00", at("2025-01-31 23:59:59")),  # still January in Shanghai
        order_paid(UIN, "S3", "20.00", at("2025-02-01 00:00:00"), product=COS),
        order_refunded(UIN, "R1", "S1", "30.00", at("2025-02-03 10:00:00")),
        order_paid(UIN, "S4", "7.00", at("2024-12-31 10:00:00")))
    await inv.enterprise(UIN)
    await inv.ok("POST", "/v1/invoice-applications", uin=UIN, json_body={
        "mode": "records", "record_ids": [await inv.record_id(UIN, "S2")],
        "email": "finance@example.com"})
    first = await inv.ok("GET", "/v1/monthly-bills", uin=UIN, params={"limit": 2})
    assert [b["month"] for b in first["bills"]] == ["2025-02", "2025-01"]
    feb, jan = first["bills"]
    assert (feb["cash_amount"], feb["invoiced_amount"], feb["invoiceable_amount"]) == (
        "-10.00", "0.00", "-10.00")
    assert [(p["product_name"], p["cash_amount"], p["invoiceable_amount"])
            for p in feb["products"]] == [("对象存储", "20.00", "20.00"),  # by product code
                                          ("云服务器", "-30.00", "-30.00")]
    assert (jan["cash_amount"], jan["invoiced_amount"], jan["invoiceable_amount"]) == (
        "150.00", "50.00", "100.00")
    rest = await inv.ok("GET", "/v1/monthly-bills", uin=UIN,
                        params={"limit": 2, "cursor": first["next_cursor"]})
    assert [b["month"] for b in rest["bills"]] == ["2024-12"] and rest["next_cursor"] is None


async def test_inv_req_5_legacy_amount_set_by_operator_only(inv) -> None:
    """INV-REQ-5: an operator sets the legacy remaining amount; customers cannot."""
    await inv.set_legacy(UIN, "402.95")
    summary = await inv.ok("GET", "/v1/invoiceable-amount", uin=UIN)
    assert (summary["legacy_amount"], summary["total_amount"]) == ("402.95", "402.95")
    await inv.refused("PUT", f"/v1/operator/accounts/{UIN}/legacy-amount",
                      "UnauthorizedOperation.CallerKind", 403, uin=UIN,
                      json_body={"amount": "99999.00"})
    await inv.refused("PUT", f"/v1/operator/accounts/{UIN}/legacy-amount",
                      "InvalidParameterValue.Amount", 400, kind="operator",
                      json_body={"amount": "-1.00"})
    assert await inv.ledger(UIN) == (40295, 0)


async def test_inv_req_6_transfers_count_for_sender_and_against_receiver(inv) -> None:
    """INV-REQ-6: a transfer is invoiceable at once by its sender and subtracted from the
    receiver, whose normal quota returns only as it consumes the money."""
    reseller, customer = "200000000001", "200000000002"
    await inv.deliver(transfer_completed("TR1", reseller, customer, "500.00",
                                         at("2025-01-10 10:00:00")))
    assert (await inv.ok("GET", "/v1/invoiceable-amount", uin=reseller))["total_amount"] == (
        "500.00")
    assert (await inv.ok("GET", "/v1/invoiceable-amount", uin=customer))["total_amount"] == (
        "-500.00")
    sent = (await inv.ok("GET", "/v1/consumption-records", uin=reseller))["records"][0]
    assert (sent["kind"], sent["tax_rate"], sent["type_label"]) == ("transfer_out", "0.06", "转出")
    await inv.deliver(order_paid(customer, "S1", "300.00", at("2025-01-11 10:00:00")))
    assert (await inv.ok("GET", "/v1/invoiceable-amount", uin=customer))["total_amount"] == (
        "-200.00")
    await inv.deliver(order_paid(customer, "S2", "250.00", at("2025-01-12 10:00:00")))
    assert (await inv.ok("GET", "/v1/invoiceable-amount", uin=customer))["total_amount"] == (
        "50.00")


async def test_inv_req_7_marketplace_kept_apart(inv) -> None:
    """INV-REQ-7: marketplace purchases are stored but in no amount, list or bill here."""
    await inv.deliver(
        order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00")),
        order_paid(UIN, "M1", "999.00", at("2025-01-06 10:00:00"),
                   product=("mkt-website", "企业官网建设"), vendor=("mv-1", "杭州云栈")),
        bill_settled(UIN, "MB1", "2025-01", "88.00", at("2025-02-01 03:00:00"),
                     product=("mkt-api", "短信接口"), vendor="mv-2"))
    assert await inv.rows("SELECT count(*) FROM consumption_records WHERE marketplace") == [(2,)]
    page = await inv.ok("GET", "/v1/consumption-records", uin=UIN)
    assert [r["display_id"] for r in page["records"]] == ["S1"]
    assert (await inv.ok("GET", "/v1/invoiceable-amount", uin=UIN))["total_amount"] == "10.00"
    bills = await inv.ok("GET", "/v1/monthly-bills", uin=UIN)
    assert [(b["month"], b["cash_amount"]) for b in bills["bills"]] == [("2025-01", "10.00")]
    assert await inv.ledger(UIN) == (0, 1000)


async def test_evt_req_2_same_event_twice_changes_nothing(inv) -> None:
    """EVT-REQ-2: a redelivered order.paid (same event id) is dropped by the inbox; the same
    sub-order published again under a new event id is dropped by the ledger's unique key."""
    paid = order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00"))
    await inv.deliver(paid)
    before = (await inv.ledger(UIN), await inv.balances(UIN))
    await inv.redeliver(paid)
    assert (await inv.ledger(UIN), await inv.balances(UIN)) == before
    await inv.deliver(order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00")))
    assert (await inv.ledger(UIN), await inv.balances(UIN)) == before
    assert before[0] == (0, 1000)


async def test_inv_req_2_refund_before_its_purchase_ends_right(inv) -> None:
    """A refund delivered before its purchase: both records, the right balances."""
    await inv.deliver(order_refunded(UIN, "R1", "S1", "4.00", at("2025-01-07 10:00:00")))
    assert await inv.ledger(UIN) == (0, -400)
    await inv.deliver(order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00")))
    assert await inv.ledger(UIN) == (0, 600)
    assert sorted((await inv.balances(UIN)).values()) == [-400, 1000]


async def test_poison_event_is_dead_lettered_and_changes_nothing(make_invoice) -> None:
    """A payload that breaks the contract (three-decimal amount) is retried, then dead-lettered;
    the rest of the stream goes on."""
    inv = await make_invoice(delivery_limit=2)
    bad = order_paid(UIN, "S9", "1.005", at("2025-01-05 10:00:00"))
    good = order_paid(UIN, "S1", "10.00", at("2025-01-05 11:00:00"))
    await inv.publish(bad)
    await inv.deliver(good)
    bus = inv.runtime.bus

    async def dead() -> bool:
        return len(bus.dead_letters("invoice-svc.ledger")) == 1

    await wait_for(dead, within=20, what="the poison message to be dead-lettered")
    assert bus.dead_letters("invoice-svc.ledger")[0][0].message_id == bad.id
    assert await inv.ledger(UIN) == (0, 1000)


async def test_other_accounts_see_nothing(inv) -> None:
    """Every read acts within the caller's account only."""
    await inv.deliver(order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00")))
    other = "100000000009"
    assert (await inv.ok("GET", "/v1/consumption-records", uin=other))["records"] == []
    assert (await inv.ok("GET", "/v1/invoiceable-amount", uin=other))["total_amount"] == "0.00"
    assert (await inv.ok("GET", "/v1/monthly-bills", uin=other))["bills"] == []
    await inv.refused("GET", "/v1/consumption-records", "UnauthorizedOperation.CallerKind", 403,
                      kind="operator")
    answer = await inv.client.get("/v1/consumption-records")
    assert answer.status_code == 401


async def test_embedded_mode_sqlite_pages_and_long_proposals(make_invoice) -> None:
    """Embedded mode (SQLite): keyset pages and a proposal reading past its first chunk of
    candidates behave as on PostgreSQL."""
    inv = await make_invoice(database="sqlite")
    await inv.enterprise(UIN, bank=False)
    start = at("2025-01-01 00:00:00")
    await inv.deliver(*[order_paid(UIN, f"S{i:03d}", "1.00", start + timedelta(minutes=i))
                        for i in range(300)])
    seen: list[str] = []
    cursor = None
    while True:
        page = await inv.ok("GET", "/v1/consumption-records", uin=UIN,
                            params={"limit": 100} | ({"cursor": cursor} if cursor else {}))
        seen += [r["display_id"] for r in page["records"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [f"S{i:03d}" for i in reversed(range(300))]
    proposal = await inv.ok("POST", "/v1/invoice-amount-matches", uin=UIN,
                            json_body={"total_amount": "250.50"})
    assert len(proposal["lines"]) == 251
    assert proposal["lines"][0]["display_id"] == "S299"
    assert proposal["lines"][-1] == proposal["lines"][-1] | {"display_id": "S049",
                                                              "amount": "0.50"}
    await inv.ok("POST", "/v1/invoice-applications", uin=UIN, json_body={
        "mode": "amount", "total_amount": "250.50", "email": "f@example.com"})
    assert await inv.ledger(UIN) == (0, 4950)
