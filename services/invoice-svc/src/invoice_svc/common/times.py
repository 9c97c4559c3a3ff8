"""Time helpers: UTC storage, Asia/Shanghai business months and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from kit.clock import SHANGHAI, utc
from kit.errors import InvalidParameterValue

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
"""The calendar days a date filter may name; beyond them there is nothing to find (and
`date.max` has no following day)."""


class DateRangeInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.DateRange"


def day_range(start_date: date | None,
              end_date: date | None) -> tuple[datetime | None, datetime | None]:
    """A filter's inclusive Shanghai `start_date`..`end_date` as [start, end) aware UTC
    instants (None where not given), or DateRangeInvalid when reversed or out of range."""
    if start_date and end_date and start_date > end_date:
        raise DateRangeInvalid("start_date is after end_date")
    for day in (start_date, end_date):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise DateRangeInvalid(f"dates must lie between {FIRST_DAY} and {LAST_DAY}")
    return (shanghai_day_start(start_date) if start_date else None,
            shanghai_day_end(end_date) if end_date else None)


def shanghai_month(value: datetime) -> str:
    """The Asia/Shanghai billing month (`YYYY-MM`) an instant falls in."""
    return utc(value).astimezone(SHANGHAI).strftime("%Y-%m")


def shanghai_day_start(day: date) -> datetime:
    """Midnight of a Shanghai calendar day, as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(UTC)


def shanghai_day_end(day: date) -> datetime:
    """The first instant after a Shanghai calendar day, as aware UTC."""
    return shanghai_day_start(day + timedelta(days=1))


def month_start(month: str) -> datetime:
    """First instant of a `YYYY-MM` Shanghai month, as aware UTC."""
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=SHANGHAI).astimezone(UTC)
