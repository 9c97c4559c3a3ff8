"""Issuing throughput (issue 6): applications taken from applied to issued by ONE issuing
worker (platform round trips to the in-process simulated tax platform, the invoice's PDF and
XML rendered with the embedded CJK font and stored in PostgreSQL, `invoice.issued` staged),
next to a bare reportlab render of a comparable invoice page with the same embedded font,
measured in the same run (bench_documents.bare_pdf). Target: issued/s >= 0.5 x bare pages/s.

Run: `uv run python bench/bench_issuing.py [--invoices 200]`; writes
bench/results/issuing.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bench_documents import bare_pdf, invoice
from invoice_svc.config import Settings
from invoice_svc.documents.fonts import register_fonts
from invoice_svc.issuing.worker import IssuingWorker
from invoice_svc.main import create_app
from invoice_svc.models import account_ledgers, account_profiles, consumption_records
from invoice_svc.taxplatform.simulated import SimulatedTaxPlatform
from invoice_svc.testing import ENTERPRISE_NAME, ENTERPRISE_USCC
from kit.db import drop_postgres_database, ensure_postgres_database
from kit.identity import AssertionSigner, Caller, generate_keypair
from kit.money import format_yuan
from sqlalchemy import text

PG = "postgresql+asyncpg://root@127.0.0.1:5432"
RESULTS = Path(__file__).parent / "results"
TARGET_RATIO = 0.5
#: Invoices the worker has still to settle (applied: not yet sent; issuing: sent).
UNSETTLED = "SELECT count(*) FROM invoices WHERE status IN ('applied', 'issuing')"
UIN = "300000000001"


async def seed(runtime: Any, count: int) -> list[int]:
    """An enterprise account with `count` purchases of different amounts (one application
    each); returns their amounts newest first."""
    now = datetime.now(UTC)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [{
        "record_id": str(uuid.uuid4()), "uin": UIN, "kind": "purchase", "source_id": f"S{i}",
        "order_id": f"O{i}", "sub_order_id": f"S{i}", "related_sub_order_id": None,
        "order_type": "new", "product_code": "cvm", "product_name": "云服务器",
        "instance_id": f"ins-{i:08d}", "billing_mode": "prepaid", "period": None,
        "bill_month": "2025-01", "tax_rate": "0.06", "occurred_at": start + timedelta(minutes=i),
        "cash_fen": 10_000 + i, "voucher_fen": 0, "balance_fen": 10_000 + i,
        "marketplace": False, "vendor_id": None, "vendor_name": None, "out_of_scope": None,
        "event_id": str(uuid.uuid4()), "created_at": now} for i in range(count)]
    async with runtime.db.engine.begin() as conn:
        await conn.execute(account_profiles.insert().values(
            uin=UIN, site="mainland", verification_type="enterprise", legal_name=ENTERPRISE_NAME,
            uscc=ENTERPRISE_USCC, verified_at=now, snapshot_at=now, updated_at=now))
        await conn.execute(consumption_records.insert(), rows)
        await conn.execute(account_ledgers.insert().values(
            uin=UIN, legacy_fen=0, records_balance_fen=sum(r["cash_fen"] for r in rows),
            version=0, updated_at=now))
    return [r["cash_fen"] for r in reversed(rows)]


async def issue_all(count: int) -> dict[str, Any]:
    url = f"{PG}/bench_issuing_{uuid.uuid4().hex[:10]}"
    await ensure_postgres_database(url)
    private, public = generate_keypair()
    settings = Settings(database_url=url, bus="inprocess", auto_migrate=True,
                        gateway_public_key=public, run_relay=False, run_issuing=False,
                        log_json=False, log_level="WARNING", issuing_batch_size=20,
                        issuing_check_seconds=0.0)
    app = create_app(settings)
    signer = AssertionSigner(private)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://invoice-svc") as client:
            runtime = app.state.runtime
            amounts = await seed(runtime, count)

            def headers() -> dict[str, str]:
                return {"x-caller-assertion": signer.sign(Caller(kind="customer", uin=UIN))}

            title = await client.post("/v1/invoice-title", headers=headers(),
                                      json={"title_type": "enterprise_special",
                                            "address": "深圳市南山区", "phone": "0755-1",
                                            "bank_name": "招商银行", "bank_account": "7559"})
            assert title.status_code == 200, title.text
            for amount in amounts:  # newest first: each application takes one record
                answer = await client.post("/v1/invoice-applications", headers=headers(), json={
                    "mode": "amount", "total_amount": format_yuan(amount),
                    "email": "finance@example.com"})
                assert answer.status_code == 200, answer.text
            worker = IssuingWorker(runtime.db, runtime.outbox,
                                   SimulatedTaxPlatform(latency=timedelta(0)), settings,
                                   runtime.clock)
            began = time.perf_counter()
            rounds = 0
            while True:
                rounds += 1
                await worker.run_once()
                async with runtime.db.engine.connect() as conn:
                    left = (await conn.execute(text(UNSETTLED))).scalar_one()
                if not left:
                    break
            seconds = time.perf_counter() - began
            async with runtime.db.engine.connect() as conn:
                issued = (await conn.execute(text(
                    "SELECT count(*) FROM invoices WHERE status = 'issued'"))).scalar_one()
                docs = (await conn.execute(text(
                    "SELECT count(*) FROM invoice_documents WHERE format = 'pdf'"))).scalar_one()
            assert issued == docs == count, (issued, docs, count)
    finally:
        await drop_postgres_database(url)
    return {"invoices": count, "seconds": round(seconds, 2), "rounds": rounds,
            "issued_per_s": round(count / seconds, 1)}


def bare_rate(seconds: float = 3.0) -> float:
    doc = invoice()
    bare_pdf(doc)
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        bare_pdf(doc)
        done += 1
    return done / (time.perf_counter() - began)


async def main(count: int) -> dict[str, Any]:
    register_fonts()
    before = bare_rate()
    issuing = await issue_all(count)
    after = bare_rate()
    bare = (before + after) / 2
    ratio = issuing["issued_per_s"] / bare
    result = {
        "benchmark": "issuing: applied -> issued by one worker vs bare reportlab render",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "method": "one IssuingWorker, in-process simulated platform (latency 0: issuing, then "
                  "issued on the next query), PostgreSQL; bare render rate measured before and "
                  "after in the same process, averaged",
        **issuing, "bare_reportlab_pages_per_s": round(bare, 1),
        "ratio_issued_vs_bare": round(ratio, 2), "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }
    print(f"one worker: {issuing['issued_per_s']} invoices/s ({count} in {issuing['seconds']} s,"
          f" {issuing['rounds']} rounds) | bare reportlab {bare:.1f} pages/s | ratio "
          f"{ratio:.2f} (target >= {TARGET_RATIO})")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "issuing.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=200)
    asyncio.run(main(parser.parse_args().invoices))
