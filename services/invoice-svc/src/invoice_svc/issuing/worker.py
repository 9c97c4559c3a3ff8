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
        outcome in one transaction (a savepoint each, so one bad row cannot sink the rest);
        returns how many were leased. Two commits per batch, whatever its size."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            claimed = await service.claim_due(
                session, now, self.settings.issuing_batch_size,
                timedelta(seconds=self.settings.issuing_lease_seconds))
            requests = {one.invoice_id: await service.issue_request(
                session, one.invoice_id, self.settings.drawer) for one in claimed}
        if not claimed:
            return 0
        answers = await asyncio.gather(*(self._ask_platform(one, requests[one.invoice_id])
                                         for one in claimed), return_exceptions=True)
        async with self.db.transaction() as session:
            for one, answer in zip(claimed, answers, strict=True):
                try:
                    async with session.begin_nested():
                        await self._record(session, one, answer)
                except Exception as exc:  # its lease expires; a later round retries it
                    log.warning("recording an issuing outcome failed", exc_info=exc,
                                extra={"invoice_id": one.invoice_id})
        return len(claimed)

    async def _ask_platform(self, claimed: service.Claimed, request: IssueRequest) -> IssueResult:
        """Submit, or, when an earlier attempt may have reached the platform, ask first by the
        same order number and submit only if it never arrived."""
        if claimed.attempts > 1:
            try:
                known = await self.platform.query(claimed.invoice_id)
            except PlatformRejected as exc:  # a refused *question* says nothing of the invoice
                raise PlatformUnavailable(f"查询被拒绝：{exc}") from exc
            if known is not None:
                return known
        try:
            return await self.platform.issue(request)
        except PlatformRejected as exc:
            if exc.code == DUPLICATE_ORDER:  # the platform has this order: ask for it next time
                raise PlatformUnavailable(f"订单号已提交，稍后查询：{exc}") from exc
            raise

    async def _record(self, session: AsyncSession, claimed: service.Claimed,
                      answer: IssueResult | BaseException) -> None:
        invoice_id, now = claimed.invoice_id, self.clock.now()
        if isinstance(answer, PlatformUnavailable):
            delay = min(self.settings.issuing_retry_max_seconds,
                        self.settings.issuing_retry_base_seconds * 2 ** (claimed.attempts - 1))
            await service.reschedule(session, invoice_id, now + timedelta(seconds=delay), now,
                                     f"税务平台暂不可用，稍后重试：{answer}")
            self._count("unavailable")
        elif isinstance(answer, PlatformRejected):
            await self._fail(session, invoice_id, answer.code, answer.reason, now)
        elif isinstance(answer, BaseException):
            raise answer
        elif answer.state == "issued":
            await service.record_issued(session, self.outbox, invoice_id, answer, now)
            self._count("issued")
        elif answer.state == "failed":
            await self._fail(session, invoice_id, answer.failure_code or "Failed",
                             answer.failure_reason or "开票失败", now)
        else:
            await service.reschedule(
                session, invoice_id,
                now + timedelta(seconds=self.settings.issuing_check_seconds), now)
            self._count("pending")

    async def _fail(self, session: AsyncSession, invoice_id: str, code: str, reason: str,
                    now: datetime) -> None:
        await service.record_failed(session, self.outbox, invoice_id, code, reason, now)
        log.info("invoice failed", extra={"invoice_id": invoice_id, "code": code})
        self._count("failed")

    def _count(self, outcome: str) -> None:
        if self._outcomes is not None:
            self._outcomes.labels(outcome).inc()
