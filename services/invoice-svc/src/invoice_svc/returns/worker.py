"""The returns worker: a loop beside invoice-svc's HTTP server (one per replica) that drives
数电 returns through the tax platform (INV-REQ-23, 25).

Each round:
1. Inbound buyer forms (`list_inbound_red_forms` over the last 72 hours, the longest a pending
   form lives): a form in 03 against one of our invoices whose return waits in
   red_letter_pending without a number is taken as that return's form. Forms matching no return
   are left alone (neither confirmed nor denied: they lapse on their own).
2. Due returns in returning, leased (`lease_until`, `FOR UPDATE SKIP LOCKED`) so replicas
   never work on the same one:
   - not deducted, no form yet → we raise it (`request_red_form`, idempotent by the return id,
     buyer_deducted False → 01: the platform issues the red invoice itself);
   - a buyer form (03) that belongs to this invoice and offsets it in full → `confirm_red_form`;
   - red invoice issued → red invoice row + documents, blue voided, money released, progress,
     `billing.invoice.returned.v1` (one transaction, guarded by the invoice's status);
   - void (05-10, e.g. 07 after 72 hours), unknown, another invoice's or a partial form →
     back to red_letter_pending, nothing released;
   - otherwise ask again after `issuing_check_seconds`.
   Platform unavailable → retry with backoff (the lease is given back); a platform refusal of
   the request or the confirmation is noted and retried later.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from kit.clock import Clock
from kit.db import Database
from kit.service import BackgroundWorker, Runtime, WorkerFactory
from kit.worker import PollingWorker
from sqlalchemy import Table

from invoice_svc.config import Settings
from invoice_svc.returns import rules, service
from invoice_svc.taxplatform.interface import (
    FORM_BUYER_RAISED_PENDING,
    FORM_CONFIRMED_STATES,
    FORM_VOID_STATES,
    PlatformRejected,
    PlatformUnavailable,
    RedForm,
    RedFormRequest,
    TaxPlatform,
)
from invoice_svc.taxplatform.shared import platform_for

log = logging.getLogger("invoice_svc.returns")


class ReturnsWorker(PollingWorker):
    name = "returns-worker"
    log = log

    def __init__(self, db: Database, outbox: Table, platform: TaxPlatform, settings: Settings,
                 clock: Clock):
        super().__init__()
        self.db, self.outbox, self.platform = db, outbox, platform
        self.settings, self.clock = settings, clock
        self._inbound_at: datetime | None = None

    def poll_seconds(self) -> float:
        return self.settings.issuing_poll_seconds

    def full_batch(self) -> int:
        return self.settings.issuing_batch_size

    async def close(self) -> None:
        await self.platform.close()

    # --- one round -----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Match inbound buyer forms (at most every `returns_inbound_poll_seconds`), then lease
        a batch of due returns and settle each; returns how many returns were leased."""
        now = self.clock.now()
        if self._inbound_at is None or (now - self._inbound_at).total_seconds() >= \
                self.settings.returns_inbound_poll_seconds:
            self._inbound_at = now
            await self._inbound()
        now = self.clock.now()
        async with self.db.transaction() as session:
            claimed = await service.claim_due(
                session, now, self.settings.issuing_batch_size,
                timedelta(seconds=self.settings.issuing_lease_seconds))
        outcomes = await asyncio.gather(*(self._settle(one) for one in claimed),
                                        return_exceptions=True)
        for one, outcome in zip(claimed, outcomes, strict=True):
            if isinstance(outcome, BaseException):  # its lease expires; another round retries
                log.warning("settling a return failed", exc_info=outcome,
                            extra={"return_id": one.return_id})
        return len(claimed)

    async def _inbound(self) -> None:
        since = self.clock.now() - rules.FORM_CONFIRMATION_WINDOW
        try:
            forms = await self.platform.list_inbound_red_forms(since)
        except (PlatformUnavailable, PlatformRejected) as exc:
            log.warning("listing inbound red-letter forms failed", exc_info=exc)
            return
        for form in forms:
            if form.state != FORM_BUYER_RAISED_PENDING:
                continue
            async with self.db.transaction() as session:
                await service.match_inbound_form(session, form, self.clock.now())

    async def _settle(self, claimed: service.Claimed) -> None:
        if claimed.status != rules.Status.RETURNING.value:  # e.g. rejected meanwhile
            async with self.db.transaction() as session:
                await service.reschedule(session, claimed.return_id, None, self.clock.now())
            return
        try:
            form = await self._form(claimed)
            if form is None:
                await self._void(claimed, None, f"红字确认单 {claimed.red_form_number} 不存在，"
                                                "请核对后重新提交")
                return
            problem = self._unusable(claimed, form)
            if problem:
                await self._void(claimed, form.state, problem)
                return
            if form.state == FORM_BUYER_RAISED_PENDING and form.raised_by == "buyer":
                form = await self.platform.confirm_red_form(form.form_number)
            if form.state in FORM_VOID_STATES:
                await self._void(claimed, form.state,
                                 f"红字确认单 {form.form_number} 已作废（{form.state} "
                                 f"{service.FORM_STATE_NAMES.get(form.state, '')}），"
                                 "请重新发起红字确认单并提交单号；发票仍然有效，未释放开票金额")
                return
            if form.state in FORM_CONFIRMED_STATES and form.red_invoice_number:
                result = await self.platform.query_red_invoice(form.form_number)
                if result is not None and result.state == "issued" and result.documents:
                    async with self.db.transaction() as session:
                        await service.record_red_invoice(session, self.outbox, claimed, form,
                                                         result, self.clock.now())
                    return
            await self._later(claimed, form)
        except PlatformUnavailable as exc:
            await self._retry(claimed, f"税务平台暂不可用，稍后重试：{exc}")
        except PlatformRejected as exc:  # a business refusal: retrying will not change it
            await self._void(claimed, None, f"税务平台拒绝红字确认单：{exc.code} {exc.reason}；"
                                            "发票仍然有效，未释放开票金额，请核对后重新提交")

    async def _form(self, claimed: service.Claimed) -> RedForm | None:
        if claimed.red_form_number is None:
            if claimed.form_raised_by != "seller" or not claimed.invoice_number:
                return None
            form = await self.platform.request_red_form(RedFormRequest(
                request_no=claimed.return_id, blue_number=claimed.invoice_number,
                reason=claimed.red_reason,  # type: ignore[arg-type]
                buyer_deducted=False))
            async with self.db.transaction() as session:  # keep the number even if we crash
                now = self.clock.now()
                await service.reschedule(session, claimed.return_id, now, now, form=form,
                                         note=f"我方已发起红字确认单 {form.form_number}")
            return form
        return await self.platform.query_red_form(claimed.red_form_number)

    @staticmethod
    def _unusable(claimed: service.Claimed, form: RedForm) -> str | None:
        if form.blue_number != claimed.invoice_number:
            return (f"红字确认单 {form.form_number} 对应的蓝字发票不是本发票"
                    f"（{form.blue_number}），请核对后重新提交")
        if form.state in FORM_VOID_STATES:
            return None  # said below with its state
        if -form.amount_fen != claimed.amount_fen:
            return (f"红字确认单 {form.form_number} 仅部分红冲，本服务仅支持全额红冲，"
                    "请重新发起全额红字确认单")
        return None

    async def _void(self, claimed: service.Claimed, state: str | None, note: str) -> None:
        async with self.db.transaction() as session:
            await service.record_form_void(session, claimed, state, note, self.clock.now())

    async def _later(self, claimed: service.Claimed, form: RedForm) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            await service.reschedule(
                session, claimed.return_id,
                now + timedelta(seconds=self.settings.issuing_check_seconds), now, form=form)

    async def _retry(self, claimed: service.Claimed, note: str) -> None:
        delay = min(self.settings.issuing_retry_max_seconds,
                    self.settings.issuing_retry_base_seconds * 2 ** (claimed.attempts - 1))
        now = self.clock.now()
        async with self.db.transaction() as session:
            await service.reschedule(session, claimed.return_id,
                                     now + timedelta(seconds=delay), now, note=note)


def returns_worker(settings: Settings) -> WorkerFactory:
    def make(runtime: Runtime) -> BackgroundWorker:
        return ReturnsWorker(runtime.db, runtime.outbox, platform_for(runtime, settings),
                             settings, runtime.clock)
    return make
