"""Time helpers: UTC storage, Asia/Shanghai business months and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from kit.clock import SHANGHAI, utc


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
