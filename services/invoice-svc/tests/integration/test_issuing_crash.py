"""Crash safety of issuing (INV-REQ-17): invoice-svc issuing against the simulated tax
platform over HTTP is SIGKILLed in the middle of a batch (platform calls in flight, some
answered and not yet recorded) and started again: every invoice ends issued, exactly one
invoice per order number on the platform, and no number twice in our records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest_asyncio
from invoice_svc.taxplatform.server import create_simulator_app
from invoice_svc.taxplatform.simulated import SimulatedTaxPlatform
from kit.messaging.probe import wait_for
from kit.testing import free_port, serving

from .test_issuing import account_with_money, apply

#: Invoices the worker has still to settle (applied: not yet sent; issuing: sent).
UNSETTLED = "SELECT count(*) FROM invoices WHERE status IN ('applied', 'issuing')"
APPLICATIONS = 30


@pytest_asyncio.fixture
async def platform_url() -> AsyncIterator[tuple[SimulatedTaxPlatform, str]]:
    """A simulated platform (real clock, 50 ms latency) served over HTTP by this process, so
    it outlives the invoice-svc process the test kills."""
    platform = SimulatedTaxPlatform(latency=timedelta(milliseconds=50))
    async with serving(create_simulator_app(platform)) as url:
        yield platform, url


def start_issuing(database_url: str, platform: str) -> subprocess.Popen[bytes]:
    """invoice-svc as its own process: only the issuing worker has work (the test made the
    applications through another instance on the same database)."""
    port = free_port()
    env = {**os.environ, "INVOICE_DATABASE_URL": database_url, "INVOICE_BUS": "inprocess",
           "INVOICE_TAX_PLATFORM": platform, "INVOICE_ISSUING_BATCH_SIZE": "10",
           "INVOICE_ISSUING_POLL_SECONDS": "0.05", "INVOICE_ISSUING_CHECK_SECONDS": "0.1",
           "INVOICE_ISSUING_LEASE_SECONDS": "2", "INVOICE_ISSUING_RETRY_BASE_SECONDS": "0.1",
           "INVOICE_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "invoice_svc", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_inv_req_17_issuing_killed_mid_batch_resumes_without_issuing_twice(
        inv: Any, platform_url: tuple[SimulatedTaxPlatform, str]) -> None:
    platform, url = platform_url
    await account_with_money(inv, *[("10.60", "0.06")] * APPLICATIONS)
    for _ in range(APPLICATIONS):
        await apply(inv, "10.60")
    # The first submissions answer slowly (the platform does the work after the wait), so
    # the kill lands with calls in flight and answers nobody will record.
    platform.faults.slow_next(6, 1.0, on=["issue"])

    first = start_issuing(inv.database_url, url)
    try:
        async def some_submitted() -> bool:
            return len(platform.stats().submissions) >= 8

        await wait_for(some_submitted, within=60, what="the first batch to reach the platform")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    still_issuing = await inv.rows(UNSETTLED)
    assert still_issuing[0][0] > 0, "the kill came after everything was done"

    second = start_issuing(inv.database_url, url)
    try:
        async def all_settled() -> bool:
            assert second.poll() is None, second.stderr.read() if second.stderr else ""
            rows = await inv.rows(UNSETTLED)
            return rows[0][0] == 0

        await wait_for(all_settled, within=90, what="every invoice to be issued")
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=15)
        except subprocess.TimeoutExpired:
            second.kill()

    rows = await inv.rows("SELECT status, count(*), count(DISTINCT number) FROM invoices"
                          " GROUP BY status")
    assert [tuple(r) for r in rows] == [("issued", APPLICATIONS, APPLICATIONS)]
    assert platform.issued_count("blue") == APPLICATIONS
    numbers = dict(await inv.rows("SELECT invoice_id, number FROM invoices"))
    assert platform.stats().numbers == numbers
    assert len(await inv.events("billing.invoice.issued.v1")) == APPLICATIONS
