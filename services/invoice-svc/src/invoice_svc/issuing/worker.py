"""The issuing worker: a loop beside invoice-svc's HTTP server (one per replica).

Each round leases a batch of due invoices (issuing/service.py) and reads their requests in
one transaction, asks the platform about each concurrently, and records all the outcomes in
a second transaction, a savepoint per invoice (two commits per batch; commits are what a
PostgreSQL on a small disk runs out of first):
- issued → number, documents, `invoice.issued`;
- refused (PlatformRejected, or a `failed` answer) → failed with the platform's reason,
  money released, `invoice.failed`;
- unreachable / timed out (PlatformUnavailable) → try again later with backoff; never
  "failed", since the platform may have issued it (the retry asks by the same order number);
- still issuing → ask again after `issuing_check_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from kit.clock import Clock
from kit.db import Database
from kit.worker import PollingWorker
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.config import Settings
from invoice_svc.issuing import service
from invoice_svc.taxplatform.interface import (
    IssueRequest,
    IssueResult,
    PlatformRejected,
    PlatformUnavailable,
    TaxPlatform,
)

log = logging.getLogger("invoice_svc.issuing")

#: "This order number is already used" (Nuonuo E9106, the simulator's too): never a failure,
#: the invoice exists or is being made; the next round queries it.
DUPLICATE_ORDER = "E9106"


class IssuingWorker(PollingWorker):
    name = "issuing-worker"
    log = log

    def __init__(self, db: Database, outbox: Table, platform: TaxPlatform, settings: Settings,
                 clock: Clock, registry: CollectorRegistry | None = None):
        super().__init__()
        self.db, self.outbox, self.platform = db, outbox, platform
        self.settings, self.clock = settings, clock
        self._outcomes = Counter("invoice_issuing_outcomes", "Issuing outcomes by kind",
                                 ["outcome"], registry=registry) if registry else None

    def poll_seconds(self) -> float:
        return self.settings.issuing_poll_seconds

    def full_batch(self) -> int:
        return self.settings.issuing_batch_size

    async def close(self) -> None:
        await self.platform.close()

    # --- one round -----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Lease a batch, ask the platform about each invoice concurrently, then record every
        outcome in one transaction: the issued ones together, each other one in a savepoint
        (so one bad row cannot sink the rest); returns how many were leased. Two commits per
        batch, whatever its size."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            claimed = await service.claim_due(
                session, now, self.settings.issuing_batch_size,
                timedelta(seconds=self.settings.issuing_lease_seconds))
            # First attempts submit; later ones ask first and build theirs only if needed.
            requests = await service.issue_requests(
                session, [one.invoice_id for one in claimed if one.attempts == 1],
                self.settings.drawer)
        if not claimed:
            return 0
        answers = await asyncio.gather(*(self._ask_platform(one, requests.get(one.invoice_id))
                                         for one in claimed), return_exceptions=True)
        issued = [(one.invoice_id, answer) for one, answer in zip(claimed, answers, strict=True)
                  if isinstance(answer, IssueResult) and answer.state == "issued"]
        async with self.db.transaction() as session:
            settle = set(await service.record_issued(session, self.outbox, issued, now))
            self._count("issued", len(issued))
            for one, answer in zip(claimed, answers, strict=True):
                if isinstance(answer, IssueResult) and answer.state == "issued":
                    continue
                try:
                    async with session.begin_nested():
                        application_id = await self._record(session, one, answer)
                except Exception as exc:  # its lease expires; a later round retries it
                    log.warning("recording an issuing outcome failed", exc_info=exc,
                                extra={"invoice_id": one.invoice_id})
                    continue
                if application_id is not None:
                    settle.add(application_id)
            for application_id in sorted(settle):  # once each, in a stable lock order
                await service.settle_application(session, application_id, now)
        return len(claimed)

    async def _ask_platform(self, claimed: service.Claimed,
                            request: IssueRequest | None) -> IssueResult:
        """Submit, or, when an earlier attempt may have reached the platform, ask first by the
        same order number and submit only if it never arrived."""
        if claimed.attempts > 1:
            try:
                known = await self.platform.query(claimed.invoice_id)
            except PlatformRejected as exc:  # a refused *question* says nothing of the invoice
                raise PlatformUnavailable(f"查询被拒绝：{exc}") from exc
            if known is not None:
                return known
        if request is None:
            async with self.db.transaction() as session:
                request = (await service.issue_requests(session, [claimed.invoice_id],
                                                        self.settings.drawer))[claimed.invoice_id]
        try:
            return await self.platform.issue(request)
        except PlatformRejected as exc:
            if exc.code == DUPLICATE_ORDER:  # the platform has this order: ask for it next time
                raise PlatformUnavailable(f"订单号已提交，稍后查询：{exc}") from exc
            raise

    async def _record(self, session: AsyncSession, claimed: service.Claimed,
                      answer: IssueResult | BaseException) -> str | None:
        """Record one answer; returns the application to settle when the invoice ended."""
        invoice_id, now = claimed.invoice_id, self.clock.now()
        if isinstance(answer, PlatformUnavailable):
            delay = min(self.settings.issuing_retry_max_seconds,
                        self.settings.issuing_retry_base_seconds * 2 ** (claimed.attempts - 1))
            await service.reschedule(session, invoice_id, now + timedelta(seconds=delay), now,
                                     f"税务平台暂不可用，稍后重试：{answer}")
            self._count("unavailable")
            return None
        if isinstance(answer, PlatformRejected):
            return await self._fail(session, invoice_id, answer.code, answer.reason, now)
        if isinstance(answer, BaseException):
            raise answer
        if answer.state == "failed":
            return await self._fail(session, invoice_id, answer.failure_code or "Failed",
                                    answer.failure_reason or "开票失败", now)
        await service.reschedule(
            session, invoice_id, now + timedelta(seconds=self.settings.issuing_check_seconds),
            now)
        self._count("pending")
        return None

    async def _fail(self, session: AsyncSession, invoice_id: str, code: str, reason: str,
                    now: datetime) -> str | None:
        log.info("invoice failed", extra={"invoice_id": invoice_id, "code": code})
        self._count("failed")
        return await service.record_failed(session, self.outbox, invoice_id, code, reason, now)

    def _count(self, outcome: str, n: int = 1) -> None:
        if self._outcomes is not None and n:
            self._outcomes.labels(outcome).inc(n)
