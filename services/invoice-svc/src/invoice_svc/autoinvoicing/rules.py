"""Monthly automatic invoicing rules (INV-REQ-30, INV-REQ-31); pure functions.

The source (设置按月自动开票): "如果账号剩余可开票金额不足上月账单金额时，系统将不支持通过
自动方式开具发票 ... 可登录控制台手动开具发票" and "如需变更按月开票设置，请在每月10号之前
变更，10号及之后变更将在下月生效".

Definitions used here (all dates are Asia/Shanghai):

- A *run month* M is the month in which an account's monthly run happens. The run of month M
  invoices the bill of month M-1 (the previous month's bill, settled early in M).
- The run of month M may start from the 10th of M, 00:00 (`run_opens_at`): that is when the
  setting governing it becomes final. A change made before the 10th of M (up to the 9th,
  23:59:59.999) governs the run of M ("applies this month"); a change on or after the 10th
  first governs the run of M+1 ("from next month"). So `effective_month(changed_at)` is the
  first run month a change governs.
- The setting governing a run is the latest change (by time) whose effective month is not
  after the run month; an account that never turned it on is off.
- "Remaining invoiceable amount" is the account's whole invoiceable balance (the source's
  账号剩余可开票金额) compared with the previous month's bill (cash paid that month): when it is
  smaller, nothing is issued and the customer is told to invoice by hand. A bill of zero or
  less (refunds) gives nothing to invoice.
- `run_key(uin, run_month)` names one account's run of one month. Several scheduler replicas
  computing it for the same account and month get the same key; storing it under a unique
  constraint (or using `run_application_id` as the application's primary key, or as the
  request's Idempotency-Key) lets exactly one of them issue.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from kit.clock import SHANGHAI
from kit.money import format_yuan

#: Changes before this day of the month govern that month's run.
CUTOFF_DAY = 10
#: uuid5 namespace of auto-invoicing run ids (fixed forever: ids derived from it are stored).
RUN_NAMESPACE = uuid.UUID("0d6f7c0e-8a4b-5d1e-9c3f-2b7a6e4d1f90")

Month = tuple[int, int]  # (year, month)
Outcome = Literal["invoice", "skip_short", "skip_disabled", "skip_empty"]

_UIN = re.compile(r"^[0-9]{1,20}$")


def _check_month(month: Month) -> Month:
    year, number = month
    if type(year) is not int or type(number) is not int or not (1 <= number <= 12) or not (
            1 <= year <= 9999):
        raise ValueError(f"not a (year, month): {month!r}")
    return year, number


def _shanghai(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("auto-invoicing rules need aware datetimes")
    return value.astimezone(SHANGHAI)


def next_month(month: Month) -> Month:
    year, number = _check_month(month)
    return (year + 1, 1) if number == 12 else (year, number + 1)


def previous_month(month: Month) -> Month:
    year, number = _check_month(month)
    return (year - 1, 12) if number == 1 else (year, number - 1)


def month_of(at: datetime) -> Month:
    """The Shanghai month an instant falls in."""
    local = _shanghai(at)
    return local.year, local.month


def month_label(month: Month) -> str:
    """`YYYY-MM`, the project's billing-month format."""
    year, number = _check_month(month)
    return f"{year:04d}-{number:02d}"


def bill_month(run_month: Month) -> Month:
    """The bill a run invoices: the month before the run month."""
    return previous_month(run_month)


def run_opens_at(run_month: Month) -> datetime:
    """The earliest instant the run of a month may start (the 10th, 00:00 Shanghai), as UTC:
    from then on no change can alter which setting governs it."""
    year, number = _check_month(run_month)
    return datetime(year, number, CUTOFF_DAY, tzinfo=SHANGHAI).astimezone(UTC)


def effective_month(changed_at: datetime) -> Month:
    """The first run month a settings change governs: this month's run if made before the
    10th (Shanghai date), otherwise next month's (INV-REQ-31)."""
    local = _shanghai(changed_at)
    month = (local.year, local.month)
    return month if local.day < CUTOFF_DAY else next_month(month)


def setting_at(history: Iterable[tuple[datetime, bool]], run_month: Month) -> bool:
    """Whether auto-invoicing is on for the run of `run_month`, given every change of the
    setting as `(changed_at, enabled)`, in any order. The latest change in time that is
    already effective for the run wins (two changes at the same instant: the later in the
    sequence); with none, the setting is off."""
    target = _check_month(run_month)
    governing: tuple[datetime, int, bool] | None = None
    for index, (changed_at, enabled) in enumerate(history):
        if type(enabled) is not bool:
            raise ValueError(f"enabled must be a bool, got {enabled!r}")
        if effective_month(changed_at) > target:
            continue
        key = (changed_at.astimezone(UTC), index, enabled)
        if governing is None or key[:2] > governing[:2]:
            governing = key
    return governing[2] if governing is not None else False


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    run_month: Month
    bill_month: Month
    amount_fen: int  # what to invoice; 0 unless outcome == "invoice"
    notice: str | None = None  # for the customer (skip_short), Chinese

    @property
    def issues(self) -> bool:
        return self.outcome == "invoice"


def short_notice(bill: Month, bill_amount_fen: int, invoiceable_fen: int) -> str:
    year, number = bill
    return (f"您已开通按月自动开票。{year}年{number}月账单金额为 {format_yuan(bill_amount_fen)}"
            f" 元，当前账号剩余可开票金额为 {format_yuan(invoiceable_fen)} 元，不足上月账单金额，"
            f"本月系统未自动开具发票。如仍需开具{year}年{number}月账单金额的发票，请登录控制台"
            "手动申请开票。")


def decide(run_month: Month, bill_amount_fen: int, invoiceable_fen: int,
           enabled: bool) -> Decision:
    """What the run of `run_month` does for one account (INV-REQ-30): invoice the previous
    month's bill in full, or skip it (disabled; nothing to invoice; remaining invoiceable
    amount below the bill, with a notice telling the customer to invoice by hand)."""
    for name, value in (("bill_amount_fen", bill_amount_fen),
                        ("invoiceable_fen", invoiceable_fen)):
        if type(value) is not int:
            raise ValueError(f"{name} must be fen (int), got {value!r}")
    if type(enabled) is not bool:
        raise ValueError(f"enabled must be a bool, got {enabled!r}")
    run = _check_month(run_month)
    bill = bill_month(run)
    if not enabled:
        return Decision("skip_disabled", run, bill, 0)
    if bill_amount_fen <= 0:
        return Decision("skip_empty", run, bill, 0)
    if invoiceable_fen < bill_amount_fen:
        return Decision("skip_short", run, bill, 0,
                        short_notice(bill, bill_amount_fen, invoiceable_fen))
    return Decision("invoice", run, bill, bill_amount_fen)


def run_key(uin: str, run_month: Month) -> str:
    """The idempotency key of one account's run of one month: `auto-invoice:<uin>:<YYYY-MM>`
    (the run month, not the bill month)."""
    if not isinstance(uin, str) or not _UIN.match(uin):
        raise ValueError(f"uin must be a numeric string, got {uin!r}")
    return f"auto-invoice:{uin}:{month_label(run_month)}"


def run_application_id(uin: str, run_month: Month) -> str:
    """A UUID (uuid5 of `run_key`) usable as the run's application id: every replica derives
    the same one, so a primary key lets only one insert succeed."""
    return str(uuid.uuid5(RUN_NAMESPACE, run_key(uin, run_month)))
