"""Mainland business days with the official 2025/2026 holiday schedules and 调休 make-up days
(the deadlines of INV-REQ-21, 23, 24, 26)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from invoice_svc.common import business_days as bd
from invoice_svc.common.business_days import (
    add_business_days,
    business_day_range,
    business_days_between,
    business_deadline,
    has_official_calendar,
    is_business_day,
    is_overdue,
    next_business_day,
    shanghai_date,
)
from kit.clock import SHANGHAI


def sh(*args: int) -> datetime:
    """An Asia/Shanghai wall-clock time as an aware datetime."""
    return datetime(*args, tzinfo=SHANGHAI)


# Facts from the State Council's schedules (国务院办公厅关于2025年/2026年部分节假日安排的通知).
MAKE_UP_WORKDAYS = [date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
                    date(2025, 10, 11), date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
                    date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]
WEEKDAY_HOLIDAYS = [date(2025, 1, 1), date(2025, 1, 28), date(2025, 2, 4), date(2025, 4, 4),
                    date(2025, 5, 1), date(2025, 5, 5), date(2025, 6, 2), date(2025, 10, 1),
                    date(2025, 10, 6), date(2025, 10, 8), date(2026, 1, 1), date(2026, 1, 2),
                    date(2026, 2, 16), date(2026, 2, 23), date(2026, 4, 6), date(2026, 5, 5),
                    date(2026, 6, 19), date(2026, 9, 25), date(2026, 10, 7)]


@pytest.mark.parametrize("day", MAKE_UP_WORKDAYS, ids=str)
def test_weekend_make_up_days_are_business_days(day: date) -> None:
    assert day.weekday() >= 5
    assert is_business_day(day)


@pytest.mark.parametrize("day", WEEKDAY_HOLIDAYS, ids=str)
def test_weekday_public_holidays_are_not_business_days(day: date) -> None:
    assert day.weekday() < 5
    assert not is_business_day(day)


def test_ordinary_weekdays_and_weekends() -> None:
    assert is_business_day(date(2025, 3, 12))  # Wednesday
    assert not is_business_day(date(2025, 3, 15))  # Saturday
    assert not is_business_day(date(2026, 3, 15))  # Sunday


def test_a_datetime_counts_on_its_shanghai_date() -> None:
    # 2025-09-30 17:00 UTC is 2025-10-01 01:00 in Shanghai: National Day.
    assert not is_business_day(datetime(2025, 9, 30, 17, 0, tzinfo=UTC))
    assert is_business_day(datetime(2025, 9, 30, 15, 59, tzinfo=UTC))
    assert shanghai_date(datetime(2025, 9, 30, 16, 0, tzinfo=UTC)) == date(2025, 10, 1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_business_day(datetime(2025, 3, 12, 10, 0))
    with pytest.raises(ValueError, match="aware"):
        add_business_days(datetime(2025, 3, 12, 10, 0), 1)


def test_inv_req_24_electronic_return_on_the_2nd_business_day_spans_a_make_up_sunday() -> None:
    # Friday 2025-09-26: the 1st business day after is the make-up Sunday 09-28, the 2nd Monday.
    assert add_business_days(sh(2025, 9, 26, 10, 0), 1) == date(2025, 9, 28)
    assert add_business_days(sh(2025, 9, 26, 10, 0), 2) == date(2025, 9, 29)


def test_inv_req_24_the_2nd_business_day_across_national_day_2025() -> None:
    # Tuesday 2025-09-30: 10-01..10-08 are off; 10-09 and 10-10 are the next business days.
    assert add_business_days(sh(2025, 9, 30, 9, 0), 1) == date(2025, 10, 9)
    assert add_business_days(sh(2025, 9, 30, 9, 0), 2) == date(2025, 10, 10)
    # ... and the make-up Saturday 10-11 is the 3rd.
    assert add_business_days(sh(2025, 9, 30, 9, 0), 3) == date(2025, 10, 11)


def test_spring_festival_2026_with_both_make_up_saturdays() -> None:
    # Friday 2026-02-13: Sat 02-14 is a make-up day; 02-15..02-23 are off; Sat 02-28 works.
    assert add_business_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_business_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert add_business_days(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert add_business_days(date(2026, 2, 13), 6) == date(2026, 2, 28)
    assert add_business_days(date(2026, 2, 13), 7) == date(2026, 3, 2)


def test_the_start_day_never_counts_even_on_a_holiday() -> None:
    assert add_business_days(date(2026, 1, 1), 1) == date(2026, 1, 4)  # make-up Sunday
    assert add_business_days(date(2025, 3, 12), 1) == date(2025, 3, 13)
    assert next_business_day(date(2025, 5, 1)) == date(2025, 5, 6)


def test_the_shanghai_date_decides_where_counting_starts() -> None:
    # Sunday 2025-09-28 17:00 UTC is Monday 09-29 01:00 in Shanghai.
    assert add_business_days(datetime(2025, 9, 28, 17, 0, tzinfo=UTC), 1) == date(2025, 9, 30)
    assert add_business_days(datetime(2025, 9, 28, 15, 0, tzinfo=UTC), 1) == date(2025, 9, 29)


def test_zero_is_the_start_date_and_negative_is_refused() -> None:
    assert add_business_days(date(2025, 10, 3), 0) == date(2025, 10, 3)
    with pytest.raises(ValueError):
        add_business_days(date(2025, 10, 3), -1)
    with pytest.raises(ValueError):
        add_business_days(date(2025, 10, 3), True)  # type: ignore[arg-type]


def test_business_days_between() -> None:
    assert business_days_between(date(2025, 9, 30), date(2025, 10, 10)) == 2
    # 09-28 (make-up Sunday), 09-29, 09-30, 10-09, 10-10, 10-11 (make-up Saturday)
    assert business_days_between(date(2025, 9, 26), date(2025, 10, 12)) == 6
    assert business_days_between(date(2025, 10, 12), date(2025, 9, 26)) == -6
    assert business_days_between(date(2025, 10, 1), date(2025, 10, 1)) == 0


def test_inv_req_21_review_within_1_business_day_deadline_is_shanghai_midnight() -> None:
    # Submitted Friday 2025-09-26 15:00 Shanghai: the review is due by the end of the make-up
    # Sunday 09-28, i.e. 2025-09-28 16:00 UTC.
    start = sh(2025, 9, 26, 15, 0)
    deadline = business_deadline(start, 1)
    assert deadline == datetime(2025, 9, 28, 16, 0, tzinfo=UTC)
    assert deadline.tzinfo is UTC
    assert not is_overdue(start, 1, deadline - timedelta(microseconds=1))
    assert is_overdue(start, 1, deadline)
    with pytest.raises(ValueError):
        is_overdue(start, 1, datetime(2025, 9, 28, 0, 0))


def test_inv_req_26_five_to_seven_business_days_range() -> None:
    # Requested Thursday 2026-04-30: 05-01..05-05 off, Sat 05-09 works.
    assert business_day_range(sh(2026, 4, 30, 11, 0), 5, 7) == (date(2026, 5, 11),
                                                                 date(2026, 5, 13))
    with pytest.raises(ValueError):
        business_day_range(date(2026, 4, 30), 7, 5)


def test_calendar_coverage() -> None:
    assert has_official_calendar(2025)
    assert has_official_calendar(2026)
    assert not has_official_calendar(2099)


def test_outside_the_calendar_falls_back_to_monday_to_friday_and_warns_once(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(bd, "_warned_years", set())
    caplog.set_level(logging.WARNING, logger="invoice_svc.business_days")
    assert is_business_day(date(2099, 1, 1))  # a Thursday; the real 元旦 is unknown here
    assert not is_business_day(date(2099, 1, 3))  # Saturday
    assert add_business_days(date(2099, 1, 2), 1) == date(2099, 1, 5)
    warnings = [r for r in caplog.records if "2099" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


def test_counting_crosses_from_the_official_calendar_into_the_fallback() -> None:
    # 2026-12-31 is a Thursday; 2027 is not in the calendar yet, so 2027-01-01 (Friday) counts.
    assert add_business_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert add_business_days(date(2026, 12, 31), 2) == date(2027, 1, 4)


DAYS = st.dates(min_value=date(2024, 12, 1), max_value=date(2026, 11, 30))


@given(DAYS, st.integers(min_value=0, max_value=40))
def test_between_inverts_add(start: date, n: int) -> None:
    end = add_business_days(start, n)
    assert business_days_between(start, end) == n
    assert end > start or n == 0
    if n:
        assert is_business_day(end)
        # No business day is skipped: the day before `end` has n-1 business days after start.
        assert business_days_between(start, end - timedelta(days=1)) == n - 1


@given(DAYS, DAYS)
def test_between_is_antisymmetric(a: date, b: date) -> None:
    assert business_days_between(a, b) == -business_days_between(b, a)


@given(DAYS, st.integers(min_value=0, max_value=10), st.integers(min_value=0, max_value=10))
def test_add_composes(start: date, m: int, n: int) -> None:
    assert add_business_days(add_business_days(start, m), n) == add_business_days(start, m + n)
