"""Monthly auto-invoicing (INV-REQ-30, 31): the setting and its history, the runs, and what
one run does for one account.

The rules (which change governs a month, what a run decides) are `rules.py`; this module
stores and reads them. A run that invoices goes through `applications.service.apply` exactly
like a customer applying by monthly bill (money reserved under the ledger lock, one invoice
per rate, `billing.invoice.applied.v1`), then marks the application `method = 'auto'` in the
same transaction. The run row is inserted first in that transaction: its primary key
(uin, run_month) lets only one scheduler replica get past it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kit.clock import Clock, iso, utc
from kit.db import Database
from kit.errors import AppError, MissingParameter
from kit.ids import uuid7
from kit.messaging import add_events, new_event
from sqlalchemy import Row, Table, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.accounts.service import load_profile, require_invoicing_allowed
from invoice_svc.applications import service as applications
from invoice_svc.applications.models import invoice_applications
from invoice_svc.applications.schemas import InvoiceRequest
from invoice_svc.autoinvoicing import rules
from invoice_svc.autoinvoicing.events import AUTO_INVOICE_SKIPPED, AutoInvoiceSkipped
from invoice_svc.autoinvoicing.models import auto_invoice_runs, auto_invoice_settings
from invoice_svc.autoinvoicing.rules import Month
from invoice_svc.common.money import yuan
from invoice_svc.common.sql import dialect_of, upsert_insert
from invoice_svc.config import Settings
from invoice_svc.ledger import service as ledger
from invoice_svc.titles.service import TitleMissing, buyer_for

S = auto_invoice_settings
R = auto_invoice_runs
SOURCE = "/services/invoice-svc"
#: Changes shown by DescribeAutoInvoiceSetting (newest first).
HISTORY_LIMIT = 50


class AutoInvoiceTitleMissing(TitleMissing):
    """Same stable code as applying without a title (FailedOperation.InvoiceTitleMissing)."""


def _label(month: Month) -> str:
    return rules.month_label(month)


def _parse(label: str) -> Month:
    return int(label[:4]), int(label[5:7])


# ----------------------------------------------------------------------------- the setting

def setting_lock_key(uin: str) -> int:
    """The account's auto-invoicing advisory lock key (a signed 64-bit integer)."""
    digest = hashlib.sha256(f"invoice-svc:auto-invoicing:{uin}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_account(session: AsyncSession, uin: str) -> None:
    """Serialise the account's setting changes and its monthly runs (to the end of the
    transaction): a change reads the latest one and the clock under this lock, a run reads
    the setting that governs it under it too. So two changes never both append (or both
    skip) on the same latest one, and a change stamped before the 10th is either committed
    before the month's run decides or waits for it and is stamped after. PostgreSQL: an
    advisory transaction lock; SQLite (embedded mode): its database write lock serialises
    the writers."""
    if dialect_of(session) == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                              {"key": setting_lock_key(uin)})


async def history(session: AsyncSession, uin: str,
                  before: datetime | None = None) -> list[Row[Any]]:
    """The account's changes, oldest first (ties at one instant in insertion order: the
    change ids are uuid7)."""
    stmt = select(S).where(S.c.uin == uin)
    if before is not None:
        stmt = stmt.where(S.c.changed_at < before)
    return list((await session.execute(stmt.order_by(S.c.changed_at, S.c.change_id))).all())


def governing(rows: Sequence[Row[Any]], run_month: Month) -> Row[Any] | None:
    """The change that governs the run of `run_month` (`rules.setting_at`'s rule over rows
    ordered oldest first), or None when none does (off)."""
    found = None
    for row in rows:
        if rules.effective_month(utc(row.changed_at)) <= run_month:
            found = row  # later rows win, as in setting_at
    return found


def _enabled_for(rows: Sequence[Row[Any]], run_month: Month) -> bool:
    return rules.setting_at([(utc(row.changed_at), row.enabled) for row in rows], run_month)


def _change_view(row: Row[Any]) -> dict[str, Any]:
    return {"changed_at": iso(row.changed_at), "enabled": row.enabled, "email": row.email,
            "changed_by": row.changed_by, "effective_month": row.effective_month}


def setting_view(rows: Sequence[Row[Any]], now: datetime) -> dict[str, Any]:
    """DescribeAutoInvoiceSetting: the latest choice, what governs this month's run, the
    change still to take effect, and from which month a change made now applies."""
    month = rules.month_of(now)
    latest = rows[-1] if rows else None
    current = governing(rows, month)
    pending = latest if latest is not None and latest.effective_month > _label(month) else None
    return {
        "enabled": latest.enabled if latest is not None else False,
        "email": latest.email if latest is not None else None,
        "this_month": {
            "run_month": _label(month),
            "bill_month": _label(rules.bill_month(month)),
            "enabled": _enabled_for(rows, month),
            "email": current.email if current is not None else None,
            "run_opens_at": iso(rules.run_opens_at(month)),
        },
        "pending": None if pending is None else {
            "enabled": pending.enabled, "email": pending.email,
            "effective_month": pending.effective_month},
        "changes_apply_from": _label(rules.effective_month(now)),
        "cutoff_day": rules.CUTOFF_DAY,
        "history": [_change_view(row) for row in reversed(rows[-HISTORY_LIMIT:])],
    }


async def describe_setting(session: AsyncSession, uin: str, now: datetime) -> dict[str, Any]:
    return setting_view(await history(session, uin), now)


async def _require_title(session: AsyncSession, uin: str) -> None:
    """Turning auto-invoicing on needs an account allowed to invoice and a usable title."""
    profile = require_invoicing_allowed(await load_profile(session, uin))
    try:
        await buyer_for(session, uin, profile)
    except TitleMissing:
        raise AutoInvoiceTitleMissing(
            "开通按月自动开票前请先设置发票抬头 (set the invoice title before turning on "
            "monthly auto-invoicing)") from None


async def modify_setting(session: AsyncSession, uin: str, *, changed_by: str, enabled: bool,
                         email: str | None, clock: Clock) -> dict[str, Any]:
    """ModifyAutoInvoiceSetting: append a change (none when it repeats the latest one). The
    time of the change (which decides the month it governs) is read once the account's lock
    is held (`lock_account`)."""
    checked = applications.check_email(email) if email is not None else None
    await lock_account(session, uin)
    now = clock.now()
    rows = await history(session, uin)
    latest = rows[-1] if rows else None
    if checked is None and latest is not None:
        checked = latest.email
    if enabled:
        if checked is None:
            raise MissingParameter("email: 请填写接收自动开具发票的电子邮箱",
                                   details={"field": "email"})
        await _require_title(session, uin)
    if latest is None and not enabled:
        return setting_view(rows, now)  # off already: nothing to record
    if latest is not None and (latest.enabled, latest.email) == (enabled, checked):
        return setting_view(rows, now)
    await session.execute(insert(S).values(
        change_id=str(uuid7()), uin=uin, changed_at=now, enabled=enabled, email=checked,
        changed_by=changed_by, effective_month=_label(rules.effective_month(now))))
    return setting_view(await history(session, uin), now)


# ----------------------------------------------------------------------------- runs

def _run_view(row: Row[Any]) -> dict[str, Any]:
    return {"run_month": row.run_month, "bill_month": row.bill_month, "outcome": row.outcome,
            "application_id": row.application_id, "bill_amount": yuan(row.bill_fen),
            "invoiceable_amount": yuan(row.invoiceable_fen), "notice": row.notice,
            "failure_code": row.failure_code, "created_at": iso(row.created_at)}


async def list_runs(session: AsyncSession, uin: str, *, limit: int) -> dict[str, Any]:
    rows = (await session.execute(select(R).where(R.c.uin == uin)
                                  .order_by(R.c.run_month.desc()).limit(limit))).all()
    total = (await session.execute(
        select(func.count()).select_from(R).where(R.c.uin == uin))).scalar_one()
    return {"total": total, "runs": [_run_view(row) for row in rows]}


@dataclass(frozen=True)
class Candidate:
    """An account the run of a month concerns: on for it, or turned off as of it."""

    uin: str
    enabled: bool
    email: str | None


async def candidates(session: AsyncSession, run_month: Month, *, after: str | None,
                     limit: int) -> tuple[list[Candidate], str | None]:
    """A page (by uin) of the accounts with a setting, keeping those the run of `run_month`
    concerns and that have no run row for it yet, and the uin to continue after (None at the
    end). Only changes made before the run opens can govern it (`rules.run_opens_at`)."""
    opens = rules.run_opens_at(run_month)
    stmt = (select(S.c.uin).where(S.c.changed_at < opens).group_by(S.c.uin)
            .order_by(S.c.uin).limit(limit))
    if after is not None:
        stmt = stmt.where(S.c.uin > after)
    uins = list((await session.execute(stmt)).scalars())
    if not uins:
        return [], None
    done = set((await session.execute(select(R.c.uin).where(
        R.c.run_month == _label(run_month), R.c.uin.in_(uins)))).scalars())
    rows = (await session.execute(
        select(S).where(S.c.uin.in_([u for u in uins if u not in done]), S.c.changed_at < opens)
        .order_by(S.c.uin, S.c.changed_at, S.c.change_id))).all()
    by_uin: dict[str, list[Row[Any]]] = {}
    for row in rows:
        by_uin.setdefault(row.uin, []).append(row)
    found = [candidate for uin, changes in by_uin.items()
             if (candidate := _candidate(uin, changes, run_month)) is not None]
    return found, (uins[-1] if len(uins) == limit else None)


def _candidate(uin: str, changes: Sequence[Row[Any]], run_month: Month) -> Candidate | None:
    """What the run of `run_month` does for an account with these changes (made before the
    run opens, oldest first): None when it does not concern it."""
    rule = governing(changes, run_month)
    if rule is None:
        return None
    if _enabled_for(changes, run_month):
        return Candidate(uin, True, rule.email)
    if rule.effective_month == _label(run_month):
        return Candidate(uin, False, rule.email)  # turned off as of this month
    return None


async def _current(session: AsyncSession, uin: str, run_month: Month) -> Candidate | None:
    """The candidate as of now, read under the account's lock: a change committed since the
    page of candidates was read (stamped before the run opened) is taken into account."""
    await lock_account(session, uin)
    return _candidate(uin, await history(session, uin, before=rules.run_opens_at(run_month)),
                      run_month)


async def _claim(session: AsyncSession, uin: str, decision: rules.Decision, bill_fen: int,
                 invoiceable_fen: int, now: datetime, *, outcome: str | None = None,
                 notice: str | None = None, failure_code: str | None = None) -> bool:
    """Insert the run row; False when another replica already has (PK conflict)."""
    stmt = upsert_insert(session, R).values(
        uin=uin, run_month=_label(decision.run_month), bill_month=_label(decision.bill_month),
        outcome=outcome or decision.outcome, application_id=None, bill_fen=bill_fen,
        invoiceable_fen=invoiceable_fen, notice=notice if notice is not None else decision.notice,
        failure_code=failure_code, created_at=now,
    ).on_conflict_do_nothing(index_elements=[R.c.uin, R.c.run_month]).returning(R.c.uin)
    return (await session.execute(stmt)).first() is not None


def _skipped_event(uin: str, decision: rules.Decision, reason: str, bill_fen: int,
                   invoiceable_fen: int, notice: str, email: str | None,
                   failure_code: str | None, now: datetime) -> Any:
    key = rules.run_key(uin, decision.run_month)
    data = AutoInvoiceSkipped(
        uin=uin, run_month=_label(decision.run_month), bill_month=_label(decision.bill_month),
        reason=reason, bill_amount=yuan(bill_fen),  # type: ignore[arg-type]
        invoiceable_amount=yuan(invoiceable_fen), notice=notice, email=email,
        failure_code=failure_code, created_at=iso(now) or "").model_dump(mode="json")
    return new_event(AUTO_INVOICE_SKIPPED, source=SOURCE, subject=uin, data=data, time=now,
                     event_id=str(uuid.uuid5(rules.RUN_NAMESPACE, key + ":skipped")))


def failed_notice(bill: Month, message: str) -> str:
    year, number = bill
    return (f"您已开通按月自动开票，但本月系统未能自动开具{year}年{number}月账单的发票：{message}。"
            "请处理后登录控制台手动申请开票。")


async def _run_in(session: AsyncSession, outbox: Table, settings: Settings,
                  candidate: Candidate, run_month: Month, now: datetime) -> str | None:
    uin = candidate.uin
    current = await _current(session, uin, run_month)
    if current is None:
        return None
    candidate = current
    bill = _label(rules.bill_month(run_month))
    state = await ledger.read_ledger(session, uin)
    found = await ledger.bill_balances(session, uin, [bill])
    bill_fen = int(found[0].balance_fen) if found else 0
    decision = rules.decide(run_month, bill_fen, state.total_fen, candidate.enabled)
    if not await _claim(session, uin, decision, bill_fen, state.total_fen, now):
        return None
    if decision.outcome == "skip_short":
        assert decision.notice is not None
        await add_events(session, outbox, [_skipped_event(
            uin, decision, "skip_short", bill_fen, state.total_fen, decision.notice,
            candidate.email, None, now)])
    elif decision.issues:
        prepared = applications.prepare(
            InvoiceRequest(mode="bills", months=[bill], email=candidate.email), settings)
        body = await applications.apply(session, uin=uin, sub_uin=None, p=prepared,
                                        settings=settings, outbox=outbox, now=now)
        application_id = body["application_id"]
        await session.execute(update(invoice_applications).where(
            invoice_applications.c.application_id == application_id).values(method="auto"))
        await session.execute(update(R).where(
            R.c.uin == uin, R.c.run_month == _label(run_month)).values(
            application_id=application_id))
    return decision.outcome


async def _record_failure(session: AsyncSession, outbox: Table, candidate: Candidate,
                          run_month: Month, exc: AppError, now: datetime) -> str | None:
    """The application was refused (title gone, account restricted, balances moved): record
    the run as failed and tell the customer to invoice by hand."""
    uin = candidate.uin
    await lock_account(session, uin)
    bill = _label(rules.bill_month(run_month))
    state = await ledger.read_ledger(session, uin)
    found = await ledger.bill_balances(session, uin, [bill])
    bill_fen = int(found[0].balance_fen) if found else 0
    decision = rules.Decision("invoice", run_month, rules.bill_month(run_month), bill_fen)
    notice = failed_notice(decision.bill_month, exc.message)
    if not await _claim(session, uin, decision, bill_fen, state.total_fen, now,
                        outcome="failed", notice=notice, failure_code=exc.code):
        return None
    await add_events(session, outbox, [_skipped_event(
        uin, decision, "failed", bill_fen, state.total_fen, notice, candidate.email, exc.code,
        now)])
    return "failed"


async def run_account(db: Database, outbox: Table, settings: Settings, candidate: Candidate,
                      run_month: Month, now: datetime) -> str | None:
    """One account's run of `run_month`, in one transaction; the outcome, or None when
    another replica (or an earlier round) already did it. A refused application rolls the
    whole attempt back (nothing reserved) and is recorded as `failed` in a new transaction."""
    try:
        async with db.transaction() as session:
            return await _run_in(session, outbox, settings, candidate, run_month, now)
    except AppError as exc:
        async with db.transaction() as session:
            return await _record_failure(session, outbox, candidate, run_month, exc, now)
