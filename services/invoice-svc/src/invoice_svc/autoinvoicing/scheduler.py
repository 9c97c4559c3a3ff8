"""The auto-invoicing scheduler: a loop beside invoice-svc's HTTP server (one per replica).

Each round, from the 10th 00:00 (Asia/Shanghai) of the current month M (`rules.run_opens_at`,
when the setting governing M's run is final), pages through the accounts with a setting by
uin and runs every one the month concerns and that has no run row for M yet: enabled →
decide with the bill of M-1 and invoice it, or skip with a notice; turned off as of M →
record `skip_disabled`. Each account is its own transaction, guarded by the run row's
primary key, so several replicas (or a replica crashing mid-round) never run an account twice
in a month. Rounds repeat every `autoinvoicing_poll_seconds` (default 300 s) and are cheap
once the month's runs exist (the accounts already run are filtered per page).
"""

from __future__ import annotations

import logging
from collections import Counter

from kit.clock import Clock
from kit.db import Database, is_transient_error
from kit.service import BackgroundWorker, Runtime, WorkerFactory
from kit.worker import PollingWorker
from sqlalchemy import Table

from invoice_svc.autoinvoicing import rules, service
from invoice_svc.config import Settings

log = logging.getLogger("invoice_svc.autoinvoicing")



class AutoInvoicingScheduler(PollingWorker):
    name = "autoinvoicing-scheduler"
    log = log

    def __init__(self, db: Database, outbox: Table, settings: Settings, clock: Clock, *,
                 page_size: int | None = None, poll_seconds: float | None = None):
        super().__init__()
        self.db, self.outbox, self.settings, self.clock = db, outbox, settings, clock
        self.page_size = page_size or settings.autoinvoicing_page_size
        self._poll_seconds = poll_seconds or settings.autoinvoicing_poll_seconds

    def poll_seconds(self) -> float:
        return self._poll_seconds

    # --- one round -----------------------------------------------------------------------------
    async def run_once(self) -> Counter[str]:
        """Run every due account of the current month; returns the outcomes this instance
        recorded (accounts another replica ran are not counted)."""
        now = self.clock.now()
        month = rules.month_of(now)
        outcomes: Counter[str] = Counter()
        if now < rules.run_opens_at(month):
            return outcomes
        after: str | None = None
        while True:
            async with self.db.transaction() as session:
                page, after = await service.candidates(session, month, after=after,
                                                       limit=self.page_size)
            for candidate in page:
                try:
                    outcome = await service.run_account(self.db, self.outbox, self.settings,
                                                        candidate, month, now)
                except Exception as exc:  # one account must not stop the others
                    if not is_transient_error(exc):
                        log.error("auto-invoicing run failed", exc_info=exc,
                                  extra={"uin": candidate.uin})
                    outcomes["error"] += 1
                    continue
                if outcome is not None:
                    outcomes[outcome] += 1
            if after is None:
                break
        if outcomes:
            log.info("auto-invoicing round", extra={"run_month": rules.month_label(month),
                                                    **dict(outcomes)})
        return outcomes


def autoinvoicing_scheduler(settings: Settings) -> WorkerFactory:
    def make(runtime: Runtime) -> BackgroundWorker:
        return AutoInvoicingScheduler(runtime.db, runtime.outbox, settings, runtime.clock)
    return make
