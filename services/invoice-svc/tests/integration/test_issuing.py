"""Issuing (INV-REQ-17) and invoice records (INV-REQ-20) on PostgreSQL: the worker takes
applied invoices through the simulated tax platform to issued or failed, stores the
documents, releases the money of failed ones, and never issues an invoice twice, with
several workers, lost answers and an unreachable platform. Time moves only with the
FrozenClock both the service and the platform read."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from invoice_svc.issuing.worker import IssuingWorker
from invoice_svc.taxplatform.simulated import SimulatedTaxPlatform
from invoice_svc.testing import at, order_paid
from kit.clock import SHANGHAI

#: Invoices the worker has still to settle (applied: not yet sent; issuing: sent).
UNSETTLED = "SELECT count(*) FROM invoices WHERE status IN ('applied', 'issuing')"
UIN = "100000000077"
APPLY = "/v1/invoice-applications"
EMAIL = "finance@example.com"
LATENCY = timedelta(seconds=5)


class Issuing:
    """The service under test, the platform it issues on, and a worker driven round by
    round."""

    def __init__(self, inv: Any, *, workers: int = 1):
        self.inv = inv
        self.platform = SimulatedTaxPlatform(clock=inv.clock, latency=LATENCY)
        self.workers = [IssuingWorker(inv.runtime.db, inv.runtime.outbox, self.platform,
                                      inv.runtime.settings, inv.clock) for _ in range(workers)]

    async def round(self) -> int:
        return await self.workers[0].run_once()

    async def until_settled(self, rounds: int = 10) -> None:
        """Rounds of the worker, moving the clock past the platform's latency and the
        worker's re-check interval each time, until no invoice is issuing."""
        for _ in range(rounds):
            await asyncio.gather(*(w.run_once() for w in self.workers))
            if (await self.inv.rows(UNSETTLED))[0][0] == 0:
                return
            self.inv.clock.advance(timedelta(minutes=10))
        raise AssertionError("invoices still issuing after the rounds given")

    async def status(self, invoice_id: str) -> str:
        (row,) = await self.inv.rows("SELECT status FROM invoices WHERE invoice_id = :i",
                                     i=invoice_id)
        return row[0]


async def account_with_money(inv: Any, *amounts_and_rates: tuple[str, str]) -> None:
    await inv.enterprise(UIN, title="enterprise_special")
    events = [order_paid(UIN, f"S{n}", amount, at("2025-02-01 10:00:00") + timedelta(hours=n),
                         tax_rate=rate) for n, (amount, rate) in enumerate(amounts_and_rates)]
    await inv.deliver(*events)


async def apply(inv: Any, total: str) -> dict[str, Any]:
    return await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "amount", "total_amount": total, "email": EMAIL, "remark": "项目 A"})


@pytest.fixture
def issuing(inv) -> Issuing:
    return Issuing(inv)


async def test_inv_req_17_issuing_then_issued_with_number_and_documents(inv, issuing) -> None:
    """Issuing is asynchronous: issuing first, issued once the platform is done, with a
    20-digit number, the PDF and XML stored and downloadable, `invoice.issued` published."""
    await account_with_money(inv, ("106.00", "0.06"), ("109.00", "0.09"))
    applied = await apply(inv, "215.00")
    ids = [i["invoice_id"] for i in applied["invoices"]]
    assert len(ids) == 2

    assert await issuing.round() == 2
    assert [await issuing.status(i) for i in ids] == ["issuing", "issuing"]
    assert await issuing.round() == 0  # nothing due until the re-check time
    inv.clock.advance(LATENCY + timedelta(seconds=inv.runtime.settings.issuing_check_seconds))
    assert await issuing.round() == 2
    assert [await issuing.status(i) for i in ids] == ["issued", "issued"]

    detail = await inv.ok("GET", f"/v1/invoices/{ids[0]}", uin=UIN)
    assert detail["status"] == "issued" and detail["status_name"] == "已开票"
    assert len(detail["number"]) == 20 and detail["number"].isdigit()
    assert detail["documents"] == ["pdf", "xml"]
    assert [p["status"] for p in detail["progress"]][-1] == "issued"
    pdf = await inv.call("GET", f"/v1/invoices/{ids[0]}/documents/pdf", uin=UIN)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert detail["number"] in pdf.headers["content-disposition"]
    xml = await inv.call("GET", f"/v1/invoices/{ids[0]}/documents/xml", uin=UIN)
    assert detail["number"].encode() in xml.content

    issued = await inv.events("billing.invoice.issued.v1")
    assert sorted(e["data"]["invoice_id"] for e in issued) == sorted(ids)
    assert {e["data"]["email"] for e in issued} == {EMAIL}
    (app_status,) = await inv.rows("SELECT status FROM invoice_applications")
    assert app_status[0] == "issued"
    assert issuing.platform.issued_count("blue") == 2


async def test_inv_req_17_rejected_invoice_fails_with_reason_and_releases_money(
        inv, issuing) -> None:
    """A platform refusal ends in failed with the platform's reason; the money it reserved is
    invoiceable again at once (and can be applied for again)."""
    await account_with_money(inv, ("106.00", "0.06"))
    before = await inv.ledger(UIN)
    balances = await inv.balances(UIN)
    issuing.platform.faults.reject_next(1, "E2003", "购买方纳税人识别号与名称不匹配")
    applied = await apply(inv, "106.00")
    (invoice_id,) = [i["invoice_id"] for i in applied["invoices"]]
    assert await inv.ledger(UIN) != before

    await issuing.until_settled()
    detail = await inv.ok("GET", f"/v1/invoices/{invoice_id}", uin=UIN)
    assert (detail["status"], detail["failure_code"]) == ("failed", "E2003")
    assert detail["failure_reason"] == "购买方纳税人识别号与名称不匹配"
    assert detail["number"] is None and detail["documents"] == []
    assert await inv.ledger(UIN) == before and await inv.balances(UIN) == balances
    (failed,) = await inv.events("billing.invoice.failed.v1")
    assert failed["data"]["released_amount"] == "106.00"
    missing = await inv.call("GET", f"/v1/invoices/{invoice_id}/documents/pdf", uin=UIN)
    assert missing.status_code == 404
    assert missing.json()["code"] == "ResourceNotFound.InvoiceDocument"

    again = await apply(inv, "106.00")
    await issuing.until_settled()
    assert await issuing.status(again["invoices"][0]["invoice_id"]) == "issued"


async def test_inv_req_17_asynchronous_platform_failure_ends_failed(inv, issuing) -> None:
    await account_with_money(inv, ("53.00", "0.06"))
    issuing.platform.faults.fail_async_next(1, "E0024", "签章失败")
    applied = await apply(inv, "53.00")
    await issuing.until_settled()
    detail = await inv.ok("GET", f"/v1/invoices/{applied['invoices'][0]['invoice_id']}", uin=UIN)
    assert (detail["status"], detail["failure_reason"]) == ("failed", "签章失败")
    assert await inv.ledger(UIN) == (0, 5300)


async def test_inv_req_17_unreachable_platform_and_lost_answers_retry_to_one_invoice(
        inv, issuing) -> None:
    """Connectivity errors mean "try again later", never "failed"; an answer lost after the
    platform made the invoice is found again by the same order number: one invoice each."""
    await account_with_money(inv, ("106.00", "0.06"), ("109.00", "0.09"), ("113.00", "0.13"))
    issuing.platform.faults.unavailable_next(2)
    issuing.platform.faults.lose_answer_next(3)
    applied = await apply(inv, "328.00")
    ids = [i["invoice_id"] for i in applied["invoices"]]

    await issuing.round()
    assert [await issuing.status(i) for i in ids] == ["issuing"] * 3
    await issuing.until_settled(rounds=20)
    assert [await issuing.status(i) for i in ids] == ["issued"] * 3
    stats = issuing.platform.stats()
    assert stats.issued == 3 and issuing.platform.issued_count() == 3
    assert sorted(stats.numbers) == sorted(ids)
    (row,) = await inv.rows("SELECT count(DISTINCT number) FROM invoices")
    assert row[0] == 3
    assert all(count == 1 for count in stats.submissions.values())  # retries asked first
    retried = [p for i in ids for p in (await inv.ok("GET", f"/v1/invoices/{i}",
                                                      uin=UIN))["progress"]
               if "稍后重试" in (p["note"] or "")]
    assert len(retried) >= 5 and {p["status"] for p in retried} == {"issuing"}


async def test_inv_req_17_several_workers_never_issue_twice(inv) -> None:
    """Three workers racing over 30 applications: every invoice issued exactly once."""
    issuing = Issuing(inv, workers=3)
    await account_with_money(inv, *[("10.60", "0.06")] * 30)
    for _ in range(30):
        await apply(inv, "10.60")
    issuing.platform.faults.lose_answer_next(5)
    await issuing.until_settled(rounds=30)
    stats = issuing.platform.stats()
    assert stats.issued == 30 and issuing.platform.issued_count() == 30
    assert len(stats.submissions) == 30
    assert all(count == 1 for count in stats.submissions.values())
    (row,) = await inv.rows("SELECT count(*), count(DISTINCT number) FROM invoices"
                            " WHERE status = 'issued'")
    assert tuple(row) == (30, 30)
    assert len(await inv.events("billing.invoice.issued.v1")) == 30


async def test_inv_req_17_refused_question_after_a_lost_answer_never_fails_the_invoice(
        inv, issuing) -> None:
    """The platform made the invoice but its answer was lost; the next attempt's query is then
    refused (say by a proxy): the invoice must not fail nor its money come back (that money
    would be invoiced twice); it ends issued, once."""
    await account_with_money(inv, ("106.00", "0.06"))
    issuing.platform.faults.lose_answer_next(1, on="issue")
    issuing.platform.faults.reject_next(2, "E9999", "拒绝访问", on="query")
    applied = await apply(inv, "106.00")
    invoice_id = applied["invoices"][0]["invoice_id"]
    await issuing.round()
    assert await issuing.status(invoice_id) == "issuing"
    await issuing.until_settled()
    assert await issuing.status(invoice_id) == "issued"
    assert await inv.ledger(UIN) == (0, 0)
    assert issuing.platform.issued_count() == 1 and not await inv.events(
        "billing.invoice.failed.v1")


async def test_inv_req_17_applications_settle_when_replicas_record_their_invoices(inv) -> None:
    """Invoices of one application recorded by different workers in concurrent transactions:
    every application still ends issued."""
    issuing = Issuing(inv, workers=2)
    for worker in issuing.workers:
        worker.settings = worker.settings.model_copy(update={"issuing_batch_size": 1})
    await account_with_money(inv, *[(amount, rate) for _ in range(6)
                                    for amount, rate in (("10.60", "0.06"), ("10.90", "0.09"))])
    for _ in range(6):
        await apply(inv, "21.50")
    await issuing.until_settled(rounds=40)
    rows = await inv.rows("SELECT status, count(*) FROM invoice_applications GROUP BY status")
    assert [tuple(r) for r in rows] == [("issued", 6)]


async def test_inv_req_20_records_list_filters_detail_and_csv(inv, issuing) -> None:
    """Records list every invoice (time, method, title, type, medium, number, amount,
    status), filter by status, number and dates; the detail links the consumption records,
    downloadable as CSV."""
    await account_with_money(inv, ("109.00", "0.09"), ("106.00", "0.06"), ("53.00", "0.06"))
    first = await apply(inv, "159.00")  # the two newest records
    issuing.platform.faults.reject_next(1, "E2001", "发票信息有误")
    await issuing.until_settled()
    second = await apply(inv, "109.00")
    del second

    listed = await inv.ok("GET", "/v1/invoices", uin=UIN)
    assert listed["total_count"] == 2
    newest, oldest = listed["invoices"]
    assert (newest["status"], oldest["status"]) == ("applied", "failed")
    assert oldest["invoice_id"] == first["invoices"][0]["invoice_id"]
    assert {(i["method"], i["medium"], i["invoice_type"], i["title"]) for i in
            listed["invoices"]} == {("manual", "fully_digital", "enterprise_special",
                                     first["buyer"]["name"])}
    only_failed = await inv.ok("GET", "/v1/invoices", uin=UIN, params={"status": "failed"})
    assert [i["invoice_id"] for i in only_failed["invoices"]] == [oldest["invoice_id"]]
    await issuing.until_settled()
    issued = await inv.ok("GET", "/v1/invoices", uin=UIN, params={"status": "issued"})
    number = issued["invoices"][0]["number"]
    by_number = await inv.ok("GET", "/v1/invoices", uin=UIN, params={"number": number})
    assert by_number["total_count"] == 1
    page = await inv.ok("GET", "/v1/invoices", uin=UIN, params={"limit": 1})
    rest = await inv.ok("GET", "/v1/invoices", uin=UIN,
                        params={"limit": 1, "cursor": page["next_cursor"]})
    assert [page["invoices"][0]["invoice_id"], rest["invoices"][0]["invoice_id"]] == [
        newest["invoice_id"], oldest["invoice_id"]] and rest["next_cursor"] is None
    today = inv.clock.now().astimezone(SHANGHAI).date()
    assert (await inv.ok("GET", "/v1/invoices", uin=UIN,
                         params={"start_date": "2000-01-01", "end_date": "2000-01-02"})
            )["total_count"] == 0
    for start, end, count in ((today, today, 2), (today + timedelta(days=1), None, 0),
                              (None, today - timedelta(days=1), 0)):
        params = {k: v.isoformat() for k, v in (("start_date", start), ("end_date", end)) if v}
        assert (await inv.ok("GET", "/v1/invoices", uin=UIN, params=params)
                )["total_count"] == count, params

    detail = await inv.ok("GET", f"/v1/invoices/{oldest['invoice_id']}", uin=UIN)
    assert detail["linked_records"] == {"count": 2, "amount": "159.00", "legacy_amount": "0.00"}
    exported = await inv.call(
        "GET", f"/v1/invoices/{oldest['invoice_id']}/consumption-records.csv", uin=UIN)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "记录ID" and len(rows) == 3
    assert sorted(r[-1] for r in rows[1:]) == ["106.00", "53.00"]


async def test_inv_req_20_records_bad_input_and_other_accounts(inv, issuing) -> None:
    await account_with_money(inv, ("106.00", "0.06"))
    applied = await apply(inv, "106.00")
    invoice_id = applied["invoices"][0]["invoice_id"]
    for params in ({"status": "lost"}, {"number": "123"}, {"limit": 0},
                   {"start_date": "2025-02-02", "end_date": "2025-02-01"},
                   {"cursor": "not-a-cursor"}, {"start_date": "yesterday"},
                   {"end_date": "9999-12-31"}, {"start_date": "0001-01-01"},
                   {"cursor": "WyJub3QtYS1kYXRlIiwgIngiXQ"},  # ["not-a-date", "x"]
                   {"cursor": "WzEsIDJd"},  # [1, 2]
                   {"cursor": "WyIyMDI1LTAxLTAxVDAwOjAwOjAwIiwgNV0"}):
        answer = await inv.call("GET", "/v1/invoices", uin=UIN, params=params)
        assert 400 <= answer.status_code < 500, (params, answer.text)
        assert answer.json()["code"].startswith("InvalidParameter"), answer.json()
    other = "100000000099"
    for path in (f"/v1/invoices/{invoice_id}", f"/v1/invoices/{invoice_id}/documents/pdf",
                 f"/v1/invoices/{invoice_id}/consumption-records.csv"):
        await inv.refused("GET", path, "ResourceNotFound.Invoice", 404, uin=other)
    assert (await inv.ok("GET", "/v1/invoices", uin=other))["total_count"] == 0
    bad_format = await inv.call("GET", f"/v1/invoices/{invoice_id}/documents/doc", uin=UIN)
    assert bad_format.status_code == 400


class _Sink:
    """An SMTP server's message store (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


async def test_inv_req_17_issued_invoice_is_mailed_with_pdf_and_xml(make_invoice) -> None:
    """The issued invoice reaches the delivery email through the outbox, the mailer's queue
    and SMTP, with the PDF and XML attached exactly as stored."""
    import email

    from aiosmtpd.controller import Controller
    from kit.messaging.probe import wait_for
    from kit.testing import free_port

    port = free_port()
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        inv = await make_invoice(run_relay=True, relay_poll_seconds=0.05,
                                 smtp_host="127.0.0.1", smtp_port=port,
                                 mail_sender="invoice@cloud.example")
        issuing = Issuing(inv)
        await account_with_money(inv, ("106.00", "0.06"))
        applied = await apply(inv, "106.00")
        await issuing.until_settled()

        async def mailed() -> bool:
            return bool(sink.messages)

        await wait_for(mailed, within=20, what="the delivery email")
        (envelope,) = sink.messages
        assert envelope.rcpt_tos == [EMAIL]
        message = email.message_from_bytes(envelope.content)
        attached = {part.get_filename(): part.get_payload(decode=True)
                    for part in message.walk() if part.get_filename()}
        invoice_id = applied["invoices"][0]["invoice_id"]
        stored = dict(await inv.rows(
            "SELECT format, content FROM invoice_documents WHERE invoice_id = :i", i=invoice_id))
        (number,) = (await inv.rows("SELECT number FROM invoices WHERE invoice_id = :i",
                                    i=invoice_id))[0]
        assert attached == {f"{number}.pdf": bytes(stored["pdf"]),
                            f"{number}.xml": bytes(stored["xml"])}

        async def noted() -> bool:
            detail = await inv.ok("GET", f"/v1/invoices/{invoice_id}", uin=UIN)
            return any(EMAIL in (p["note"] or "") for p in detail["progress"])

        await wait_for(noted, within=20, what="the mail noted in the progress")
    finally:
        controller.stop()


async def test_inv_req_21_revoke_before_issuing_releases_once_and_is_refused_after(
        inv, issuing) -> None:
    """An applied invoice not yet sent to the platform can be revoked: its money comes back
    and `invoice.revoked` says how much; the worker never sends it. Once issuing, revoking is
    refused with the status machine's code and nothing changes."""
    await account_with_money(inv, ("106.00", "0.06"), ("53.00", "0.06"))
    first = (await apply(inv, "53.00"))["invoices"][0]["invoice_id"]
    revoked = await inv.ok("POST", f"/v1/invoices/{first}/revoke", uin=UIN)
    assert (revoked["status"], revoked["released_amount"]) == ("revoked", "53.00")
    assert await inv.ledger(UIN) == (0, 15900)
    (event,) = await inv.events("billing.invoice.revoked.v1")
    assert event["data"]["released_amount"] == "53.00"
    await inv.refused("POST", f"/v1/invoices/{first}/revoke",
                      "FailedOperation.InvoiceStatusTransitionForbidden", 409, uin=UIN)
    await issuing.until_settled()
    assert await issuing.status(first) == "revoked" and issuing.platform.issued_count() == 0
    (app_status,) = await inv.rows("SELECT status FROM invoice_applications")
    assert app_status[0] == "revoked"

    second = (await apply(inv, "106.00"))["invoices"][0]["invoice_id"]
    await issuing.round()  # sent to the platform: issuing
    before = await inv.snapshot(UIN)
    await inv.refused("POST", f"/v1/invoices/{second}/revoke",
                      "FailedOperation.InvoiceStatusTransitionForbidden", 409, uin=UIN)
    assert await inv.snapshot(UIN) == before
    await inv.refused("POST", f"/v1/invoices/{second}/revoke", "ResourceNotFound.Invoice", 404,
                      uin="100000000099")
    progress = [p["status"] for p in (await inv.ok("GET", f"/v1/invoices/{second}",
                                                   uin=UIN))["progress"]]
    assert progress == ["applied", "issuing"]


async def test_inv_req_21_revoke_racing_the_worker_has_one_winner(inv, issuing) -> None:
    """Revokes racing the worker's claim on PostgreSQL: each invoice is either revoked (money
    back, never sent to the platform) or issued (money kept), never both."""
    await account_with_money(inv, *[("10.60", "0.06")] * 20)
    ids = [(await apply(inv, "10.60"))["invoices"][0]["invoice_id"] for _ in range(20)]
    answers = await asyncio.gather(
        issuing.round(), *(inv.call("POST", f"/v1/invoices/{i}/revoke", uin=UIN) for i in ids))
    codes = [a.status_code for a in answers[1:]]
    assert set(codes) <= {200, 409}
    await issuing.until_settled()
    statuses = {i: await issuing.status(i) for i in ids}
    revoked = [i for i, code in zip(ids, codes, strict=True) if code == 200]
    assert {i for i, s in statuses.items() if s == "revoked"} == set(revoked)
    assert {s for i, s in statuses.items() if i not in revoked} <= {"issued"}
    assert issuing.platform.issued_count() == 20 - len(revoked)
    assert sorted(issuing.platform.stats().numbers) == sorted(set(ids) - set(revoked))
    assert await inv.ledger(UIN) == (0, 1060 * len(revoked))


async def test_inv_req_14_a_failed_application_gives_back_its_zero_net_rate_too(
        inv, issuing) -> None:
    """A tax rate whose records net to zero draws them without an invoice; when the
    application's only invoice fails, those records are given back as well: every record's
    balance is what it was."""
    from invoice_svc.testing import order_refunded

    await inv.enterprise(UIN, title="enterprise_special")
    when = at("2025-02-01 10:00:00")
    await inv.deliver(order_paid(UIN, "P6", "106.00", when),
                      order_paid(UIN, "P9", "10.90", when, tax_rate="0.09"),
                      order_refunded(UIN, "R9", "P9", "10.90", when + timedelta(hours=1),
                                     tax_rate="0.09"))
    before = await inv.balances(UIN)
    ids = [await inv.record_id(UIN, sid) for sid in ("P6", "P9", "R9")]
    applied = await inv.ok("POST", APPLY, uin=UIN, json_body={
        "mode": "records", "record_ids": ids, "email": EMAIL})
    assert [i["tax_rate"] for i in applied["invoices"]] == ["0.06"]
    assert await inv.balances(UIN) == dict.fromkeys(before, 0)
    issuing.platform.faults.reject_next(1, "E2003", "购买方信息有误")
    await issuing.until_settled()
    assert await inv.balances(UIN) == before and await inv.ledger(UIN) == (0, 10600)
    await issuing.until_settled()  # settling again releases nothing more
    assert await inv.balances(UIN) == before
