"""Mainland China business days (工作日) in Asia/Shanghai, with the official holiday calendar.

A business day is a day the State Council's schedule makes a working day: weekdays that are not
public holidays, plus the weekend make-up days (调休, e.g. Saturday 2025-02-08 or Sunday
2025-09-28). The calendar comes from the `chinese_calendar` package, which covers only the
years whose schedule has been published (2004-2026 in v1.11). Outside those years this module
falls back to Monday-Friday and logs a warning once per year: a deadline is then at worst a few
days early or late around a holiday, which beats refusing to compute it. `has_official_calendar`
lets a health check or an operator see when the package needs an update (the next year's
schedule is usually published in November or December).

Counting rules (the source's "申请后第2个工作日完成退票", "3个工作日内完成审核"):

- `add_business_days(start, n)` is the Nth business day *after* the start's Shanghai date: the
  start day itself never counts, whether or not it is a business day and whatever the hour.
  Submitted on Friday -> the 1st business day is Monday (or the first working day after a
  holiday). `n == 0` is the start date itself.
- `business_days_between(a, b)` counts the business days d with a < d <= b, so
  `business_days_between(a, add_business_days(a, n)) == n`.
- "within N business days" ends at the end (Shanghai midnight) of the Nth business day after
  the start: `business_deadline(start, n)`, an aware UTC instant.

Datetimes must be timezone-aware; they are converted to their Asia/Shanghai date. Naive
datetimes are refused (ValueError): their calendar day is ambiguous.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
from kit.clock import SHANGHAI

log = logging.getLogger("invoice_svc.business_days")

_warned_years: set[int] = set()


def shanghai_date(value: date | datetime) -> date:
    """The Asia/Shanghai calendar date of an aware datetime; a date is returned as is."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("business days need an aware datetime (or a plain date)")
        return value.astimezone(SHANGHAI).date()
    return value


def has_official_calendar(year: int) -> bool:
    """Whether the installed holiday calendar knows the official schedule of `year`."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_business_day(day: date | datetime) -> bool:
    """Whether a (Shanghai) day is a mainland working day, make-up weekend days included."""
    day = shanghai_date(day)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("no official holiday calendar for %s; counting Monday-Friday as "
                        "business days (update chinese_calendar)", day.year)
        return day.weekday() < 5


def next_business_day(day: date | datetime) -> date:
    """The first business day strictly after the (Shanghai) day."""
    return add_business_days(day, 1)


def add_business_days(start: date | datetime, n: int) -> date:
    """The Nth business day after the start's Shanghai date (the start day never counts);
    `n == 0` gives the start date itself."""
    if type(n) is not int or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    day = shanghai_date(start)
    left = n
    while left:
        day += timedelta(days=1)
        if is_business_day(day):
            left -= 1
    return day


def business_days_between(a: date | datetime, b: date | datetime) -> int:
    """Business days d with a < d <= b (Shanghai dates); negative when b is before a."""
    start, end = shanghai_date(a), shanghai_date(b)
    sign = 1
    if end < start:
        start, end, sign = end, start, -1
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day):
            count += 1
    return sign * count


def business_deadline(start: datetime, n: int) -> datetime:
    """"Within N business days" of an aware instant: the end of the Nth business day after
    its Shanghai date (the first instant of the following day), as aware UTC."""
    if not isinstance(start, datetime):
        raise ValueError("business_deadline needs an aware datetime")
    last = add_business_days(start, n)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=SHANGHAI).astimezone(UTC)


def is_overdue(start: datetime, n: int, now: datetime) -> bool:
    """Whether `now` is past "within N business days" of `start` (both aware)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("is_overdue needs an aware `now`")
    return now >= business_deadline(start, n)


def business_day_range(start: date | datetime, first: int, last: int) -> tuple[date, date]:
    """The dates of the `first`-th and `last`-th business days after the start, e.g. "within
    5-7 business days" -> `business_day_range(start, 5, 7)`."""
    if first > last:
        raise ValueError(f"first ({first}) must not exceed last ({last})")
    return add_business_days(start, first), add_business_days(start, last)
