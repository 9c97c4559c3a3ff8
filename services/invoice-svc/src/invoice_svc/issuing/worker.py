"""The issuing worker: a loop beside invoice-svc's HTTP server (one per replica).

Each round leases a batch of due invoices (issuing/service.py), asks the platform about each
concurrently, and records each outcome in its own transaction:
- issued → number, documents, `invoice.issued`;
- refused (PlatformRejected, or a `failed` answer) → failed with the platform's reason,
  money released, `invoice.failed`;
- unreachable / timed out (PlatformUnavailable) → try again later with backoff; never
  "failed", since the platform may have issued it (the retry asks by the same order number);
- still issuing → ask again after `issuing_check_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from kit.clock import Clock
from kit.db import Database, is_transient_error
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Table

from invoice_svc.config import Settings
from invoice_svc.issuing import service
from invoice_svc.taxplatform.interface import (
    IssueResult,
    PlatformRejected,
    PlatformUnavailable,
    TaxPlatform,
)

log = logging.getLogger("invoice_svc.issuing")


class IssuingWorker:
    def __init__(self, db: Database, outbox: Table, platform: TaxPlatform, settings: Settings,
                 clock: Clock, registry: CollectorRegistry | None = None):
        self.db, self.outbox, self.platform = db, outbox, platform
        self.settings, self.clock = settings, clock
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._outcomes = Counter("invoice_issuing_outcomes", "Issuing outcomes by kind",
                                 ["outcome"], registry=registry) if registry else None

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="issuing-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.platform.close()

    def wake(self) -> None:
        """Look for work now (called after an application commits)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception as exc:  # the loop must survive database or platform outages
                level = logging.WARNING if is_transient_error(exc) else logging.ERROR
                log.log(level, "issuing round failed", exc_info=exc)
                handled = 0
            if handled < self.settings.issuing_batch_size:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.issuing_poll_seconds)

    # --- one round -----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Lease a batch and settle each invoice in it; returns how many were leased."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            claimed = await service.claim_due(
                session, now, self.settings.issuing_batch_size,
                timedelta(seconds=self.settings.issuing_lease_seconds))
        outcomes = await asyncio.gather(*(self._settle(one) for one in claimed),
                                        return_exceptions=True)
        for one, outcome in zip(claimed, outcomes, strict=True):
            if isinstance(outcome, BaseException):  # its lease expires; another round retries
                log.warning("settling an invoice failed", exc_info=outcome,
                            extra={"invoice_id": one.invoice_id})
        return len(claimed)

    async def _settle(self, claimed: service.Claimed) -> None:
        invoice_id = claimed.invoice_id
        try:
            result = await self._ask_platform(claimed)
        except PlatformUnavailable as exc:
            await self._retry_later(claimed, f"税务平台暂不可用，稍后重试：{exc}")
            self._count("unavailable")
            return
        except PlatformRejected as exc:
            await self._fail(invoice_id, exc.code, exc.reason)
            return
        if result.state == "issued":
            async with self.db.transaction() as session:
                await service.record_issued(session, self.outbox, invoice_id, result,
                                            self.clock.now())
            self._count("issued")
        elif result.state == "failed":
            await self._fail(invoice_id, result.failure_code or "Failed",
                             result.failure_reason or "开票失败")
        else:
            now = self.clock.now()
            async with self.db.transaction() as session:
                await service.reschedule(
                    session, invoice_id,
                    now + timedelta(seconds=self.settings.issuing_check_seconds), now)
            self._count("pending")

    async def _ask_platform(self, claimed: service.Claimed) -> IssueResult:
        """Submit, or, when an earlier attempt may have reached the platform, ask first by the
        same order number and submit only if it never arrived."""
        if claimed.attempts > 1:
            known = await self.platform.query(claimed.invoice_id)
            if known is not None:
                return known
        async with self.db.transaction() as session:
            request = await service.issue_request(session, claimed.invoice_id,
                                                  self.settings.drawer)
        return await self.platform.issue(request)

    async def _retry_later(self, claimed: service.Claimed, note: str) -> None:
        delay = min(self.settings.issuing_retry_max_seconds,
                    self.settings.issuing_retry_base_seconds * 2 ** (claimed.attempts - 1))
        now = self.clock.now()
        async with self.db.transaction() as session:
            await service.reschedule(session, claimed.invoice_id,
                                     now + timedelta(seconds=delay), now, note)

    async def _fail(self, invoice_id: str, code: str, reason: str) -> None:
        async with self.db.transaction() as session:
            await service.record_failed(session, self.outbox, invoice_id, code, reason,
                                        self.clock.now())
        log.info("invoice failed", extra={"invoice_id": invoice_id, "code": code})
        self._count("failed")

    def _count(self, outcome: str) -> None:
        if self._outcomes is not None:
            self._outcomes.labels(outcome).inc()
