"""Invoice applications: by records, by monthly bills, by amount; one invoice per tax rate;
remarks, email, preview, idempotency; bad input (INV-REQ-13..16, 18)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from invoice_svc.applications.service import MATCH_LINES
from invoice_svc.ledger import buckets
from invoice_svc.ledger import service as ledger
from invoice_svc.matching import INSUFFICIENT_CODE, Allocation, ScanStart, propose_by_amount
from invoice_svc.testing import (
    ENTERPRISE_NAME,
    ENTERPRISE_USCC,
    account_event,
    at,
    bill_settled,
    order_paid,
    order_refunded,
)
from kit.money import amount_in_capitals, split_tax_inclusive
from sqlalchemy import text

UIN = "100000000001"
APPLY = "/v1/invoice-applications"
PREVIEW = "/v1/invoice-previews"
MATCH = "/v1/invoice-amount-matches"
EMAIL = "finance@example.com"
COS = ("cos", "对象存储")


# ---------------------------------------------------------------------------------------------
# The source's worked example (按输入金额开票): total 402.99, legacy 402.95, COS records of
# September 2020 newest first -0.81, 0.85, -0.85, 0.85; monthly bills 2020-09 0.04, 2020-08
# 1.00, 2020-07 5.98, 2020-05 0.97.

SOURCE_RECORDS = ("20200917607000222254171", "20200917607000222249081",
                  "20200917607000222267601", "20200917607000222225211")


@pytest.fixture
def source_example() -> list:
    when = at("2020-09-17 10:00:00")
    return [
        order_paid(UIN, "20200917607000222225211", "0.85", when, product=COS),
        order_refunded(UIN, "20200917607000222267601", "20200917607000222225211", "0.85",
                       when + timedelta(minutes=1), product=COS),
        order_paid(UIN, "20200917607000222249081", "0.85", when + timedelta(minutes=2),
                   product=COS),
        order_refunded(UIN, "20200917607000222254171", "20200917607000222249081", "0.81",
                       when + timedelta(minutes=3), product=COS),
        bill_settled(UIN, "B202008", "2020-08", "1.00", at("2020-09-01 03:00:00"), product=COS),
        bill_settled(UIN, "B202007", "2020-07", "5.98", at("2020-08-01 03:00:00"), product=COS),
        bill_settled(UIN, "B202005", "2020-05", "0.97", at("2020-06-01 03:00:00"), product=COS),
    ]


async def setup_source(inv, source_example: list) -> dict[str, str]:
    await inv.deliver(*source_example)
    await inv.enterprise(UIN)
    await inv.set_legacy(UIN, "402.95")
    return {sid: await inv.record_id(UIN, sid) for sid in SOURCE_RECORDS}


async def test_inv_req_13_source_example_matched_by_records(inv, source_example) -> None:
    """INV-REQ-13c: legacy first, then newest to oldest, netting the refund met before the
    cover: 402.95 + (-0.81) + 0.85 = 402.99; the older -0.85 and 0.85 stay untouched."""
    ids = await setup_source(inv, source_example)
    proposal = await inv.ok("POST", MATCH, uin=UIN, json_body={"total_amount": "402.99"})
    assert proposal["legacy"] == {"available": "402.95", "amount": "402.95"}
    assert [(line["display_id"], line["balance"], line["amount"])
            for line in proposal["lines"]] == [("20200917607000222254171", "-0.81", "-0.81"),
                                               ("20200917607000222249081", "0.85", "0.85")]
    assert proposal["invoiceable_amount"] == "410.94"

    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": "402.99", "email": EMAIL})
    assert applied["total_amount"] == "402.99"
    balances = await inv.balances(UIN)
    assert [balances[ids[s]] for s in SOURCE_RECORDS] == [0, 0, -85, 85]
    assert await inv.ledger(UIN) == (0, 410_94 - 402_95 - 4)
    (invoice,) = applied["invoices"]
    assert [(line["item_name"], line["amount"]) for line in invoice["lines"]] == [
        ("*信息技术服务*云服务费", "402.95"), ("*信息技术服务*对象存储", "0.04")]
    net, tax = split_tax_inclusive(40295, Decimal("0.06"))
    assert (invoice["lines"][0]["net_amount"], invoice["lines"][0]["tax_amount"]) == (
        f"{net / 100:.2f}", f"{tax / 100:.2f}")
    assert invoice["amount_in_capitals"] == "肆佰零贰圆玖角玖分"
    assert applied["amount_in_capitals"] == amount_in_capitals(40299)


async def test_inv_req_13_source_example_matched_by_monthly_bills(inv, source_example) -> None:
    """INV-REQ-13c, monthly-bill view: legacy 402.95 + the 2020-09 bill's 0.04. That is the
    whole bill, so every record of it is invoiced in full (nothing stays open on a bill that
    shows 0.00 invoiceable); part of a bill is drawn newest first (next test)."""
    ids = await setup_source(inv, source_example)
    proposal = await inv.ok("POST", MATCH, uin=UIN,
                            json_body={"total_amount": "402.99", "match_by": "bills"})
    assert proposal["lines"] == [{"month": "2020-09", "balance": "0.04", "amount": "0.04"}]
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "match_by": "bills", "total_amount": "402.99", "email": EMAIL})
    assert applied["allocation"]["bills"] == [{"month": "2020-09", "amount": "0.04"}]
    balances = await inv.balances(UIN)
    assert [balances[ids[s]] for s in SOURCE_RECORDS] == [0, 0, 0, 0]
    bills = await inv.ok("GET", "/v1/monthly-bills", uin=UIN)
    assert [(b["month"], b["invoiced_amount"], b["invoiceable_amount"]) for b in bills["bills"]
            ] == [("2020-09", "0.04", "0.00"), ("2020-08", "0.00", "1.00"),
                  ("2020-07", "0.00", "5.98"), ("2020-05", "0.00", "0.97")]


async def test_inv_req_13_part_of_a_bill_is_drawn_newest_first(inv, source_example) -> None:
    """INV-REQ-13c: part of a monthly bill moves its records as the record view would: newest
    first, netting the refund met before the cover; a negative part of a bill mirrors it."""
    ids = await setup_source(inv, source_example)
    await inv.deliver(order_refunded(UIN, "R0806", "B202008", "3.00", at("2020-08-06 10:00:00")))
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "match_by": "bills", "total_amount": "2.03", "email": EMAIL,
        "allocation": {"legacy_amount": "0.00", "lines": [
            {"month": "2020-09", "amount": "0.03"}, {"month": "2020-08", "amount": "-1.00"},
            {"month": "2020-07", "amount": "3.00"}]}})
    assert applied["allocation"]["bills"] == [
        {"month": "2020-09", "amount": "0.03"}, {"month": "2020-08", "amount": "-1.00"},
        {"month": "2020-07", "amount": "3.00"}]
    balances = await inv.balances(UIN)
    assert [balances[ids[s]] for s in SOURCE_RECORDS] == [0, 1, -85, 85]
    august = await inv.ok("GET", "/v1/consumption-records", uin=UIN,
                          params={"start_date": "2020-08-01", "end_date": "2020-08-31"})
    # August's bill is -3.00 (refund) + 1.00 (usage, settled 2020-09-01). Its -1.00 is, mirrored,
    # newest first: the usage's +1.00 netted in full, then -2.00 of the refund.
    assert [(r["display_id"], r["invoiceable_balance"]) for r in august["records"]] == [
        ("R0806", "-1.00"), ("2020-07", "2.98")]
    assert (await inv.balances(UIN))[await inv.record_id(UIN, "B202008")] == 0
    await inv.refused("POST", APPLY, "InvalidParameterValue.AllocationOutOfRange", 400,
                      uin=UIN, json_body={
                          "mode": "amount", "match_by": "bills", "total_amount": "1.00",
                          "email": EMAIL, "allocation": {"lines": [
                              {"month": "2020-08", "amount": "1.00"}]}})


async def test_inv_req_13_customer_adjusts_and_amounts_must_add_up(inv, source_example) -> None:
    """INV-REQ-13c: the customer may adjust the proposal; the chosen amounts must add up
    exactly to the total; each stays between 0 and its balance; legacy at most what is left."""
    ids = await setup_source(inv, source_example)
    before = await inv.snapshot(UIN)

    def body(legacy: str, *lines: tuple[str, str], total: str = "402.99") -> dict[str, Any]:
        return {"mode": "amount", "total_amount": total, "email": EMAIL, "allocation": {
            "legacy_amount": legacy,
            "lines": [{"record_id": ids[s], "amount": a} for s, a in lines]}}

    await inv.refused("POST", APPLY, "InvalidParameterValue.AllocationSumMismatch", 400,
                      uin=UIN, json_body=body("402.95", (SOURCE_RECORDS[1], "0.03")))
    await inv.refused("POST", APPLY, "InvalidParameterValue.AllocationOutOfRange", 400,
                      uin=UIN, json_body=body("402.00", (SOURCE_RECORDS[1], "0.99")))
    await inv.refused("POST", APPLY, "InvalidParameterValue.AllocationOutOfRange", 400,
                      uin=UIN, json_body=body("403.00", (SOURCE_RECORDS[0], "-0.01")))
    await inv.refused("POST", APPLY, "InvalidParameterValue.AllocationOutOfRange", 400,
                      uin=UIN, json_body=body("402.95", (SOURCE_RECORDS[0], "-0.90"),
                                              (SOURCE_RECORDS[1], "0.94")))
    await inv.refused("POST", APPLY, "InvalidParameterValue.DuplicateRecord", 400, uin=UIN,
                      json_body=body("402.95", (SOURCE_RECORDS[1], "0.02"),
                                     (SOURCE_RECORDS[1], "0.02")))
    assert await inv.snapshot(UIN) == before
    # Leave the newest refund alone and take the older purchase instead: fine.
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body=body(
        "402.10", (SOURCE_RECORDS[1], "0.85"), (SOURCE_RECORDS[3], "0.04")))
    assert applied["allocation"]["legacy_amount"] == "402.10"
    balances = await inv.balances(UIN)
    assert [balances[ids[s]] for s in SOURCE_RECORDS] == [-81, 0, -85, 81]
    assert await inv.ledger(UIN) == (402_95 - 402_10, (410_94 - 402_95) - (85 + 4))


async def test_inv_req_13_by_records_and_by_bills(inv) -> None:
    """INV-REQ-13a/b: picked records are invoiced for their whole balances; picked monthly
    bills whole (every record of the month)."""
    await inv.enterprise(UIN)
    await inv.deliver(
        order_paid(UIN, "S1", "100.00", at("2025-01-05 10:00:00")),
        order_paid(UIN, "S2", "20.00", at("2025-01-06 10:00:00")),
        order_refunded(UIN, "R2", "S2", "5.00", at("2025-01-07 10:00:00")),
        order_paid(UIN, "S3", "30.00", at("2025-02-06 10:00:00")),
        bill_settled(UIN, "B1", "2025-02", "7.00", at("2025-03-01 03:00:00"), product=COS))
    ids = {s: await inv.record_id(UIN, s) for s in ("S1", "S2", "R2", "S3", "B1")}
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "records", "record_ids": [ids["S2"], ids["R2"]], "email": EMAIL})
    assert applied["total_amount"] == "15.00"
    assert [r["amount"] for r in applied["allocation"]["records"]] == ["20.00", "-5.00"]
    await inv.refused("POST", APPLY, "FailedOperation.RecordNotInvoiceable", 409, uin=UIN,
                      json_body={"mode": "records", "record_ids": [ids["S2"]], "email": EMAIL})
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "bills", "months": ["2025-02"], "email": EMAIL})
    assert (applied["total_amount"], applied["allocation"]["bills"]) == (
        "37.00", [{"month": "2025-02", "amount": "37.00"}])
    balances = await inv.balances(UIN)
    assert {s: balances[ids[s]] for s in ids} == {"S1": 10000, "S2": 0, "R2": 0, "S3": 0,
                                                  "B1": 0}
    assert await inv.ledger(UIN) == (0, 10000)
    await inv.refused("POST", APPLY, "ResourceNotFound.MonthlyBill", 404, uin=UIN,
                      json_body={"mode": "bills", "months": ["2024-12"], "email": EMAIL})
    await inv.refused("POST", APPLY, "FailedOperation.MonthlyBillNotInvoiceable", 409, uin=UIN,
                      json_body={"mode": "bills", "months": ["2025-02"], "email": EMAIL})


async def test_inv_req_13_records_that_net_below_the_account_total_are_refused(inv) -> None:
    """Picking a purchase while leaving its refund out cannot invoice money the account does
    not have: never more than the net invoiceable amount (INV-REQ-1, 2)."""
    await inv.enterprise(UIN)
    await inv.deliver(order_paid(UIN, "S1", "17.55", at("2023-08-30 09:53:11")),
                      order_refunded(UIN, "R1", "S1", "17.55", at("2023-08-30 09:55:37")))
    before = await inv.snapshot(UIN)
    await inv.refused("POST", APPLY, "FailedOperation.InvoiceableAmountInsufficient", 409,
                      uin=UIN, json_body={"mode": "records", "email": EMAIL,
                                          "record_ids": [await inv.record_id(UIN, "S1")]})
    await inv.refused("POST", APPLY, "FailedOperation.NegativeInvoiceAmount", 409,
                      uin=UIN, json_body={"mode": "records", "email": EMAIL,
                                          "record_ids": [await inv.record_id(UIN, "R1")]})
    assert await inv.snapshot(UIN) == before


async def test_inv_req_14_one_invoice_per_tax_rate(inv) -> None:
    """INV-REQ-14: several tax rates make several invoices; lines per product, tax per line,
    totals are sums of lines, amounts in capitals."""
    await inv.enterprise(UIN, title="enterprise_special")
    await inv.deliver(
        order_paid(UIN, "S1", "106.00", at("2025-01-05 10:00:00")),
        order_paid(UIN, "S2", "53.00", at("2025-01-06 10:00:00"), product=("cdn", "内容分发网络")),
        order_paid(UIN, "S3", "109.00", at("2025-01-07 10:00:00"), tax_rate="0.09",
                   product=("dc", "专线接入")),
        order_paid(UIN, "S4", "113.00", at("2025-01-08 10:00:00"), tax_rate="0.13",
                   product=("ukey", "数字证书 UKey")))
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": "381.00", "email": EMAIL})
    assert applied["invoice_type_name"] == "企业增值税专用发票"
    assert (applied["buyer"]["name"], applied["buyer"]["taxpayer_id"]) == (
        ENTERPRISE_NAME, ENTERPRISE_USCC)
    shown = [(i["tax_rate"], [(line["item_name"], line["amount"], line["net_amount"],
                               line["tax_amount"]) for line in i["lines"]],
              i["total_amount"], i["amount_in_capitals"]) for i in applied["invoices"]]
    assert shown == [
        ("0.06", [("*信息技术服务*内容分发网络", "53.00", "50.00", "3.00"),
                  ("*信息技术服务*云服务器", "106.00", "100.00", "6.00")],
         "159.00", "壹佰伍拾玖圆整"),
        ("0.09", [("*基础电信服务*专线接入", "109.00", "100.00", "9.00")], "109.00",
         "壹佰零玖圆整"),
        ("0.13", [("*经营租赁*数字证书 UKey", "113.00", "100.00", "13.00")], "113.00",
         "壹佰壹拾叁圆整"),
    ]
    assert (applied["total_net_amount"], applied["total_tax_amount"]) == ("350.00", "31.00")
    assert await inv.count("invoices") == 3
    rows = await inv.rows("SELECT tax_rate, sum(amount_fen), sum(net_fen + tax_fen)"
                          " FROM invoice_lines GROUP BY tax_rate ORDER BY tax_rate")
    assert [tuple(r) for r in rows] == [("0.06", 15900, 15900), ("0.09", 10900, 10900),
                                        ("0.13", 11300, 11300)]
    (event,) = await inv.events("billing.invoice.applied.v1")
    assert event["subject"] == UIN
    assert [i["tax_rate"] for i in event["data"]["invoices"]] == ["0.06", "0.09", "0.13"]
    assert event["data"]["application_id"] == applied["application_id"]
    assert event["data"]["record_count"] == 4


async def test_inv_req_14_a_rate_that_nets_negative_must_be_adjusted(inv) -> None:
    """A refund at one rate netted against purchases at another would make a negative blue
    invoice: refused with a clear error; leaving that refund out works."""
    await inv.enterprise(UIN)
    ukey = ("ukey", "数字证书 UKey")
    await inv.deliver(
        order_paid(UIN, "U1", "113.00", at("2025-01-01 10:00:00"), tax_rate="0.13",
                   product=ukey),
        order_paid(UIN, "S1", "106.00", at("2025-01-02 10:00:00")),
        order_refunded(UIN, "U1R", "U1", "13.00", at("2025-01-03 10:00:00"), tax_rate="0.13",
                       product=ukey))
    before = await inv.snapshot(UIN)
    await inv.refused("POST", APPLY, "FailedOperation.NegativeInvoiceAmount", 409, uin=UIN,
                      json_body={"mode": "amount", "total_amount": "100.00", "email": EMAIL})
    assert await inv.snapshot(UIN) == before
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": "100.00", "email": EMAIL, "allocation": {
            "lines": [{"record_id": await inv.record_id(UIN, "S1"), "amount": "100.00"}]}})
    assert [i["tax_rate"] for i in applied["invoices"]] == ["0.06"]


async def test_inv_req_15_remarks_email_and_bank_details(inv) -> None:
    """INV-REQ-15: remarks at most 230 GBK bytes (a Chinese character counts 2), characters
    GBK cannot print refused by name; bank details only when asked; an email is required."""
    await inv.enterprise(UIN)
    await inv.deliver(order_paid(UIN, "S1", "100.00", at("2025-01-05 10:00:00")))
    base = {"mode": "amount", "total_amount": "1.00", "email": EMAIL}
    before = await inv.snapshot(UIN)
    answer = await inv.refused("POST", APPLY, "InvalidParameterValue.RemarkTooLong", 400,
                               uin=UIN, json_body=base | {"remark": "账" * 116})
    assert (answer["byte_length"], answer["max_bytes"]) == (232, 230)
    answer = await inv.refused("POST", APPLY, "InvalidParameterValue.RemarkCharset", 400,
                               uin=UIN, json_body=base | {"remark": "项目A¥100"})
    assert answer["position"] == 4 and "￥" in answer["detail"]
    await inv.refused("POST", APPLY, "MissingParameter", 400, uin=UIN,
                      json_body={"mode": "amount", "total_amount": "1.00"})
    await inv.refused("POST", APPLY, "InvalidParameterValue.Email", 400, uin=UIN,
                      json_body=base | {"email": "finance@"})
    assert await inv.snapshot(UIN) == before

    preview = await inv.ok("POST", PREVIEW, uin=UIN, json_body=base | {"remark": "账" * 115})
    assert preview["remark"] == "账" * 115
    assert preview["buyer"]["bank_account"] is None and preview["seller"]["bank_name"] is None
    shown = await inv.ok("POST", PREVIEW, uin=UIN, json_body=base | {
        "show_buyer_bank": True, "show_seller_bank": True})
    assert shown["buyer"]["bank_account"] == "755912345610001"
    assert shown["seller"]["bank_account"] == "755900000000001"
    await inv.ok("PUT", "/v1/invoice-title", uin=UIN,
                 json_body={"title_type": "enterprise_general"})
    await inv.refused("POST", PREVIEW, "FailedOperation.BuyerBankInfoMissing", 409, uin=UIN,
                      json_body=base | {"show_buyer_bank": True})


async def test_inv_req_16_preview_shows_exactly_what_is_applied(inv, source_example) -> None:
    """INV-REQ-16: the preview (buyer, seller, lines, tax, totals, capitals) is exactly what
    the application issues, and previewing reserves nothing."""
    await setup_source(inv, source_example)
    body = {"mode": "amount", "total_amount": "402.99", "email": EMAIL, "remark": "账期 2020-09",
            "show_seller_bank": True}
    before = await inv.snapshot(UIN)
    preview = await inv.ok("POST", PREVIEW, uin=UIN, json_body=body)
    assert await inv.snapshot(UIN) == before
    assert preview["seller"]["name"] == "示例云计算（深圳）有限公司"
    assert preview["buyer"]["name"] == ENTERPRISE_NAME
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body=body)
    for invoice in applied["invoices"]:
        assert invoice.pop("status") == "applied"
        assert invoice.pop("invoice_id")
    assert applied.pop("status") == "applied"
    assert applied.pop("application_id") and applied.pop("created_at")
    assert applied == preview


async def test_inv_req_18_idempotency_key_and_client_token(inv) -> None:
    """INV-REQ-18: a retried request with the same key returns the first result and reserves
    nothing more; the same key with another body is refused."""
    await inv.enterprise(UIN)
    await inv.deliver(order_paid(UIN, "S1", "100.00", at("2025-01-05 10:00:00")))
    body = {"mode": "amount", "total_amount": "10.00", "email": EMAIL}
    key = {"Idempotency-Key": "apply-0001"}
    first = await inv.call("POST", APPLY, uin=UIN, json_body=body, headers=key)
    again = await inv.call("POST", APPLY, uin=UIN, json_body=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await inv.ledger(UIN) == (0, 9000)
    await inv.refused("POST", APPLY, "InvalidParameter.IdempotencyKeyReused", 409, uin=UIN,
                      json_body=body | {"total_amount": "11.00"}, headers=key)
    token = await inv.ok("POST", APPLY, uin=UIN, json_body=body | {"client_token": "ct-1"})
    replay = await inv.ok("POST", APPLY, uin=UIN, json_body=body | {"client_token": "ct-1"})
    assert replay == token
    await inv.refused("POST", APPLY, "InvalidParameterValue.IdempotencyKey", 400, uin=UIN,
                      json_body=body | {"client_token": "ct-2"}, headers=key)
    assert await inv.ledger(UIN) == (0, 8000)
    assert await inv.count("invoice_applications") == 2
    assert len(await inv.events("billing.invoice.applied.v1")) == 2
    # Keys are per account: another account's key of the same name is its own.
    other = "100000000002"
    await inv.enterprise(other)
    await inv.deliver(order_paid(other, "S9", "50.00", at("2025-01-05 10:00:00")))
    mine = await inv.ok("POST", APPLY, uin=other, json_body=body, headers=key)
    assert mine["application_id"] != first.json()["application_id"]


async def test_bad_input_is_refused_and_reserves_nothing(inv) -> None:
    """Wrong types, unknown records, another account's records, marketplace records mixed
    in, three decimals, negative totals, oversized remarks: clear errors, no 500, nothing
    reserved."""
    other = "100000000002"
    await inv.enterprise(UIN)
    await inv.deliver(
        order_paid(UIN, "S1", "100.00", at("2025-01-05 10:00:00")),
        order_paid(UIN, "M1", "80.00", at("2025-01-06 10:00:00"),
                   product=("mkt-website", "企业官网建设"),
                   vendor=("mv-1", "杭州云栈信息技术有限公司")),
        order_paid(other, "X1", "70.00", at("2025-01-06 10:00:00")))
    mine, market, theirs = (await inv.record_id(UIN, "S1"), await inv.record_id(UIN, "M1"),
                            await inv.record_id(other, "X1"))
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
        ({"mode": "amount", "total_amount": "1e2", "email": EMAIL},
         "InvalidParameterValue.Amount", 400),
        ({"mode": "amount", "total_amount": "10.00", "email": EMAIL,
          "allocation": {"lines": [{"record_id": mine, "amount": "10.001"}]}},
         "InvalidParameterValue.Amount", 400),
        ({"mode": "records", "record_ids": ["no-such-record"], "email": EMAIL},
         "ResourceNotFound.InvoiceableRecord", 404),
        ({"mode": "records", "record_ids": [mine, theirs], "email": EMAIL},
         "ResourceNotFound.InvoiceableRecord", 404),
        ({"mode": "records", "record_ids": [mine, market], "email": EMAIL},
         "FailedOperation.MarketplaceRecord", 409),
        ({"mode": "amount", "total_amount": "10.00", "email": EMAIL, "allocation": {
            "lines": [{"record_id": market, "amount": "10.00"}]}},
         "FailedOperation.MarketplaceRecord", 409),
        ({"mode": "records", "record_ids": [mine, mine], "email": EMAIL},
         "InvalidParameterValue.DuplicateRecord", 400),
        ({"mode": "records", "record_ids": [mine], "months": ["2025-01"], "email": EMAIL},
         "InvalidParameter", 400),
        ({"mode": "records", "email": EMAIL}, "MissingParameter", 400),
        ({"mode": "amount", "email": EMAIL}, "MissingParameter", 400),
        ({"mode": "bills", "months": ["2025-13"], "email": EMAIL}, "InvalidParameterValue", 400),
        ({"mode": "amount", "total_amount": "10.00", "match_by": "bills", "email": EMAIL,
          "allocation": {"lines": [{"record_id": mine, "amount": "10.00"}]}},
         "InvalidParameter", 400),
        ({"mode": "amount", "total_amount": "100.01", "email": EMAIL},
         "FailedOperation.InvoiceableAmountInsufficient", 409),
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
    before = (await inv.snapshot(UIN), await inv.snapshot(other))
    for body, code, status in cases:
        answer = await inv.call("POST", APPLY, uin=UIN, json_body=body)
        assert (answer.status_code, answer.json().get("code")) == (status, code), (
            body, answer.text)
    not_json = await inv.client.post(APPLY, content=b"{not json", headers=inv.headers(uin=UIN) | {
        "content-type": "application/json"})
    assert (not_json.status_code, not_json.json()["code"]) == (400, "InvalidParameter")
    assert (await inv.snapshot(UIN), await inv.snapshot(other)) == before


async def test_records_of_other_accounts_are_not_found_in_preview_and_match(inv) -> None:
    other = "100000000002"
    await inv.enterprise(UIN)
    await inv.deliver(order_paid(other, "X1", "70.00", at("2025-01-06 10:00:00")))
    theirs = await inv.record_id(other, "X1")
    await inv.refused("POST", PREVIEW, "ResourceNotFound.InvoiceableRecord", 404, uin=UIN,
                      json_body={"mode": "records", "record_ids": [theirs]})
    await inv.refused("POST", MATCH, "FailedOperation.InvoiceableAmountInsufficient", 409,
                      uin=UIN, json_body={"total_amount": "1.00"})


async def test_inv_req_12_special_invoice_buyer_follows_the_real_name(inv) -> None:
    """The buyer of a special invoice is the real-name name at application time (ACC-REQ-2:
    what was applied before a rename keeps the old name)."""
    await inv.enterprise(UIN, title="enterprise_special")
    await inv.deliver(order_paid(UIN, "S1", "100.00", at("2025-01-05 10:00:00")))
    first = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": "10.00", "email": EMAIL})
    await inv.deliver(account_event(UIN, "renamed", legal_name="新名称科技有限公司",
                                    new_legal_name="新名称科技有限公司",
                                    old_legal_name=ENTERPRISE_NAME))
    second = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": "10.00", "email": EMAIL})
    assert (first["buyer"]["name"], second["buyer"]["name"]) == (
        ENTERPRISE_NAME, "新名称科技有限公司")
    rows = await inv.rows("SELECT buyer_name FROM invoice_applications ORDER BY created_at")
    assert {r[0] for r in rows} == {ENTERPRISE_NAME, "新名称科技有限公司"}


async def test_apply_needs_a_title(inv) -> None:
    await inv.deliver(account_event(UIN), order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00")))
    await inv.refused("POST", APPLY, "FailedOperation.InvoiceTitleMissing", 409, uin=UIN,
                      json_body={"mode": "amount", "total_amount": "1.00", "email": EMAIL})


async def test_sub_users_act_within_their_owners_account(inv) -> None:
    """A sub-user (already authorised by the gateway's CAM check) applies on its owner's
    account; the application records who did it."""
    await inv.enterprise(UIN)
    await inv.deliver(order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00")))
    applied = await inv.ok("POST", APPLY, uin=UIN, sub_uin="200000000099", json_body={
        "mode": "amount", "total_amount": "10.00", "email": EMAIL})
    rows = await inv.rows("SELECT uin, created_by FROM invoice_applications")
    assert [tuple(r) for r in rows] == [(UIN, "200000000099")]
    (event,) = await inv.events("billing.invoice.applied.v1")
    assert event["data"]["applied_by_sub_uin"] == "200000000099"
    assert applied["total_amount"] == "10.00"


# ---------------------------------------------------------------------------------------------
# Large proposals by amount: summarised, paged, computed on the database (INV-REQ-13c)


async def python_proposal(inv, uin: str, total_fen: int) -> Allocation:
    """The rule as `matching.propose_by_amount` applies it, walking every record in Python."""
    async with inv.runtime.db.sessions() as session:
        state = await ledger.read_ledger(session, uin)
        return await session.run_sync(lambda s: propose_by_amount(
            total_fen, state.legacy_fen, ledger.iter_candidates(s, uin),
            invoiceable_total_fen=state.total_fen))


def expected_answer(allocation: Allocation, rates: dict[str, str]) -> dict[str, Any]:
    """The new fields of MatchInvoiceAmount, from the Python proposal."""
    by_rate: dict[str, list[int]] = {}
    for record_id, amount in allocation.lines:
        entry = by_rate.setdefault(rates[record_id], [0, 0])
        entry[0] += 1
        entry[1] += amount
    return {
        "line_count": len(allocation.lines),
        "by_tax_rate": [{"tax_rate": rate, "line_count": count, "amount": f"{fen / 100:.2f}"}
                        for rate, (count, fen) in sorted(by_rate.items())],
        "through": (allocation.lines[-1].record_id, f"{allocation.lines[-1].amount_fen / 100:.2f}")
        if allocation.lines else None,
        "lines": [(rid, f"{amount / 100:.2f}") for rid, amount in allocation.lines[:MATCH_LINES]],
    }


def answer_of(proposal: dict[str, Any]) -> dict[str, Any]:
    through = proposal["matched_through"]
    return {"line_count": proposal["line_count"], "by_tax_rate": proposal["by_tax_rate"],
            "through": (through["record_id"], through["amount"]) if through else None,
            "lines": [(line["record_id"], line["amount"]) for line in proposal["lines"]]}


async def test_inv_req_13_match_counts_rates_and_names_the_last_record_drawn(
        inv, source_example) -> None:
    """The proposal says how many records it draws on, how much per tax rate, and which is the
    oldest (the only one that may be drawn in part); the legacy amount alone draws none."""
    ids = await setup_source(inv, source_example)
    proposal = await inv.ok("POST", MATCH, uin=UIN, json_body={"total_amount": "402.99"})
    assert proposal["line_count"] == 2
    assert proposal["by_tax_rate"] == [{"tax_rate": "0.06", "line_count": 2, "amount": "0.04"}]
    assert proposal["matched_through"] == {
        "record_id": ids["20200917607000222249081"], "occurred_at": "2020-09-17T02:02:00Z",
        "balance": "0.85", "amount": "0.85"}
    assert proposal["next_records_cursor"] is None
    partial = await inv.ok("POST", MATCH, uin=UIN, json_body={"total_amount": "403.00"})
    assert [(line["balance"], line["amount"]) for line in partial["lines"]] == [
        ("-0.81", "-0.81"), ("0.85", "0.85"), ("-0.85", "-0.85"), ("0.85", "0.85"),
        ("1.00", "0.01")]  # the 2020-08 bill's usage, settled 2020-09-01, drawn in part
    assert partial["matched_through"]["amount"] == "0.01"
    legacy_only = await inv.ok("POST", MATCH, uin=UIN, json_body={"total_amount": "100.00"})
    assert (legacy_only["legacy"], legacy_only["lines"], legacy_only["line_count"],
            legacy_only["by_tax_rate"], legacy_only["matched_through"]) == (
        {"available": "402.95", "amount": "100.00"}, [], 0, [], None)
    await inv.refused("POST", MATCH, INSUFFICIENT_CODE, 409, uin=UIN,
                      json_body={"total_amount": "410.95"})


async def test_inv_req_13_long_proposal_is_paged_and_applied_as_proposed(inv) -> None:
    """A proposal of more records than MATCH_LINES lists the first of them and a cursor; the
    records listing (invoiceable only) goes on from it through `matched_through`, and applying
    the same amount without an allocation draws exactly those records for those amounts."""
    await inv.enterprise(UIN)
    start = at("2025-01-01 00:00:00")
    events = []
    for i in range(MATCH_LINES + 120):
        when = start + timedelta(hours=i)
        rate = "0.09" if i % 3 == 0 else "0.06"
        events.append(order_paid(UIN, f"S{i:04d}", f"{1 + i % 7}.{i % 100:02d}", when,
                                 tax_rate=rate))
        if i % 50 == 7:  # a partial refund soon after
            events.append(order_refunded(UIN, f"R{i:04d}", f"S{i:04d}", "0.50",
                                         when + timedelta(minutes=30), tax_rate=rate))
    await inv.deliver(*events)
    total = (await inv.ledger(UIN))[1] - 3_00
    proposal = await inv.ok("POST", MATCH, uin=UIN,
                            json_body={"total_amount": f"{total / 100:.2f}"})
    assert len(proposal["lines"]) == MATCH_LINES < proposal["line_count"]
    drawn = [(line["record_id"], line["amount"]) for line in proposal["lines"]]
    cursor, through = proposal["next_records_cursor"], proposal["matched_through"]
    while cursor is not None:
        page = await inv.ok("GET", "/v1/consumption-records", uin=UIN, params={
            "invoiceable_only": "true", "limit": 100, "cursor": cursor})
        for record in page["records"]:
            last = record["record_id"] == through["record_id"]
            drawn.append((record["record_id"],
                          through["amount"] if last else record["invoiceable_balance"]))
            if last:
                cursor = None
                break
        else:
            cursor = page["next_cursor"]
    assert len(drawn) == proposal["line_count"] and drawn[-1][0] == through["record_id"]
    assert sum(round(float(amount) * 100) for _, amount in drawn) == total
    rates = {rid: rate for rid, rate in await inv.rows(
        "SELECT record_id, tax_rate FROM consumption_records WHERE uin = :uin", uin=UIN)}
    by_rate: dict[str, list[int]] = {}
    for record_id, amount in drawn:
        entry = by_rate.setdefault(rates[record_id], [0, 0])
        entry[0] += 1
        entry[1] += round(float(amount) * 100)
    assert proposal["by_tax_rate"] == [
        {"tax_rate": rate, "line_count": count, "amount": f"{fen / 100:.2f}"}
        for rate, (count, fen) in sorted(by_rate.items())]
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": f"{total / 100:.2f}", "email": EMAIL})
    assert [(r["record_id"], r["amount"]) for r in applied["allocation"]["records"]] == drawn


async def test_inv_req_13_month_buckets_give_the_same_proposals(inv, monkeypatch) -> None:
    """With the trigger-kept monthly buckets (migration invoice_0006) a
    proposal skips to the month it ends in; it is the same proposal as walking every record,
    refunds and several rates included, before and after money is reserved or comes in, and
    it falls back to the full scan when the buckets do not add up to the ledger."""
    await inv.enterprise(UIN)
    rng = random.Random(13)
    events = []
    for i in range(240):
        when = at("2023-01-01 00:00:00") + timedelta(days=i * 3, minutes=rng.randrange(600))
        rate = rng.choice(["0.06", "0.09", "0.13"])
        events.append(order_paid(UIN, f"S{i:03d}", f"{rng.randrange(1, 900)}.{i % 100:02d}",
                                 when, tax_rate=rate))
        if rng.random() < 0.15:
            events.append(order_refunded(UIN, f"R{i:03d}", f"S{i:03d}", "0.75",
                                         when + timedelta(days=rng.randrange(1, 40)),
                                         tax_rate=rate))
    rng.shuffle(events)  # refunds may come before their purchases
    await inv.deliver(*events)

    async def same_as_python(total_fen: int) -> None:
        proposal = await inv.ok("POST", MATCH, uin=UIN,
                                json_body={"total_amount": f"{total_fen / 100:.2f}"})
        rates = {rid: rate for rid, rate in await inv.rows(
            "SELECT record_id, tax_rate FROM consumption_records WHERE uin = :uin", uin=UIN)}
        expected = expected_answer(await python_proposal(inv, UIN, total_fen), rates)
        assert answer_of(proposal) == expected

    async def buckets_add_up() -> None:
        kept = await inv.rows(f"SELECT bucket, tax_rate, balance_fen, positive_fen, records "
                              f"FROM {buckets.TABLE} WHERE uin = :uin AND (balance_fen <> 0 "
                              "OR positive_fen <> 0 OR records <> 0) ORDER BY 1, 2", uin=UIN)
        recomputed = await inv.rows(
            "SELECT date_trunc('month', occurred_at, 'UTC'), tax_rate, sum(balance_fen), "
            "sum(greatest(balance_fen, 0)), count(*) FILTER (WHERE balance_fen <> 0) "
            "FROM consumption_records WHERE uin = :uin GROUP BY 1, 2 "
            "HAVING sum(abs(balance_fen)) <> 0 ORDER BY 1, 2", uin=UIN)
        assert [tuple(row) for row in kept] == [tuple(row) for row in recomputed]

    starts: list[ScanStart] = []
    find_cover = ledger.find_cover

    async def spy(session: Any, uin: str, remaining: int, start: ScanStart = ScanStart()) -> Any:
        starts.append(start)
        return await find_cover(session, uin, remaining, start)

    monkeypatch.setattr(ledger, "find_cover", spy)
    await buckets_add_up()
    records_fen = (await inv.ledger(UIN))[1]
    totals = [1, 999, records_fen // 7, records_fen // 2, records_fen - 12_345, records_fen]
    for total in totals:
        await same_as_python(total)
    assert all(s.before is not None for s in starts)  # the buckets were used
    assert all(len(s.skipped) > 10 for s in starts[3:])  # and whole months skipped
    await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": f"{(records_fen // 3) / 100:.2f}", "email": EMAIL})
    await inv.deliver(order_paid(UIN, "LATE", "88.88", at("2023-03-15 12:00:00"),
                                 tax_rate="0.13"))
    await buckets_add_up()
    records_fen = (await inv.ledger(UIN))[1]
    for total in (1, records_fen // 4, records_fen // 2, records_fen - 1):
        await same_as_python(total)
    # Buckets that disagree with the ledger row are not trusted.
    async with inv.runtime.db.engine.begin() as conn:
        await conn.execute(text(f"UPDATE {buckets.TABLE} SET balance_fen = balance_fen + 1 "
                                f"WHERE uin = :uin AND bucket = (SELECT max(bucket) FROM "
                                f"{buckets.TABLE})"), {"uin": UIN})
    await same_as_python(records_fen // 2)
    assert starts[-1] == ScanStart()
