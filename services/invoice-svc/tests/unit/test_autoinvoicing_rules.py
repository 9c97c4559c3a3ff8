"""Monthly automatic invoicing rules (INV-REQ-30, INV-REQ-31)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from invoice_svc.autoinvoicing.rules import (
    Decision,
    bill_month,
    decide,
    effective_month,
    month_label,
    month_of,
    next_month,
    previous_month,
    run_application_id,
    run_key,
    run_opens_at,
    setting_at,
)
from kit.clock import SHANGHAI


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# --------------------------------------------------------------------------- INV-REQ-31


def test_inv_req_31_change_before_the_10th_applies_this_month() -> None:
    assert effective_month(sh(2025, 3, 1, 0, 0)) == (2025, 3)
    assert effective_month(sh(2025, 3, 9, 23, 59, 59)) == (2025, 3)


def test_inv_req_31_change_on_the_10th_applies_next_month() -> None:
    assert effective_month(sh(2025, 3, 10, 0, 0)) == (2025, 4)
    assert effective_month(sh(2025, 3, 31, 23, 59)) == (2025, 4)
    assert effective_month(sh(2025, 12, 10, 8, 0)) == (2026, 1)


def test_inv_req_31_the_10th_is_a_shanghai_date() -> None:
    # 2025-03-09 16:00 UTC is already 03-10 00:00 in Shanghai.
    assert effective_month(datetime(2025, 3, 9, 15, 59, 59, tzinfo=UTC)) == (2025, 3)
    assert effective_month(datetime(2025, 3, 9, 16, 0, tzinfo=UTC)) == (2025, 4)
    # 2025-02-28 16:30 UTC is 03-01 00:30 in Shanghai: March's run, not a February change.
    assert effective_month(datetime(2025, 2, 28, 16, 30, tzinfo=UTC)) == (2025, 3)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        effective_month(datetime(2025, 3, 9, 12, 0))


def test_the_run_of_a_month_invoices_the_previous_month_and_opens_on_the_10th() -> None:
    assert bill_month((2025, 3)) == (2025, 2)
    assert bill_month((2025, 1)) == (2024, 12)
    assert run_opens_at((2025, 3)) == datetime(2025, 3, 9, 16, 0, tzinfo=UTC)
    # The last instant governing a run is just before it opens; the first instant after
    # governs the next run.
    opens = run_opens_at((2025, 3))
    assert effective_month(opens - timedelta(microseconds=1)) == (2025, 3)
    assert effective_month(opens) == (2025, 4)


def test_month_helpers() -> None:
    assert next_month((2025, 12)) == (2026, 1)
    assert previous_month((2026, 1)) == (2025, 12)
    assert month_of(datetime(2025, 12, 31, 16, 0, tzinfo=UTC)) == (2026, 1)
    assert month_label((2025, 3)) == "2025-03"
    with pytest.raises(ValueError):
        next_month((2025, 13))


def test_inv_req_31_setting_history_decides_each_run() -> None:
    history = [
        (sh(2025, 1, 5, 9, 0), True),  # on from January's run
        (sh(2025, 3, 12, 9, 0), False),  # off from April's run
        (sh(2025, 5, 9, 23, 0), True),  # on again from May's run
    ]
    assert setting_at(history, (2024, 12)) is False  # never set: off
    assert setting_at(history, (2025, 1)) is True
    assert setting_at(history, (2025, 3)) is True  # the 12 March change is not effective yet
    assert setting_at(history, (2025, 4)) is False
    assert setting_at(history, (2025, 5)) is True
    assert setting_at(list(reversed(history)), (2025, 4)) is False  # order does not matter


def test_inv_req_31_the_latest_effective_change_wins() -> None:
    # Off on 12 March (effective April), on again on 2 April (effective April): April runs.
    history = [(sh(2025, 3, 1, 9, 0), True), (sh(2025, 3, 12, 9, 0), False),
               (sh(2025, 4, 2, 9, 0), True)]
    assert setting_at(history, (2025, 3)) is True
    assert setting_at(history, (2025, 4)) is True
    # Two changes at the same instant: the later one in the sequence.
    same = sh(2025, 3, 1, 9, 0)
    assert setting_at([(same, True), (same, False)], (2025, 3)) is False
    assert setting_at([(same, False), (same, True)], (2025, 3)) is True


def test_setting_history_refuses_non_bool_values() -> None:
    with pytest.raises(ValueError):
        setting_at([(sh(2025, 3, 1, 9, 0), 1)], (2025, 3))  # type: ignore[list-item]


MOMENTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(UTC))


@given(MOMENTS)
def test_effective_month_is_this_or_next_shanghai_month(at: datetime) -> None:
    local = at.astimezone(SHANGHAI)
    expected = (local.year, local.month) if local.day < 10 else next_month(
        (local.year, local.month))
    assert effective_month(at) == expected
    # A change never governs a run that opened before it was made.
    assert run_opens_at(effective_month(at)) > at


@given(st.lists(st.tuples(MOMENTS, st.booleans()), max_size=8),
       st.tuples(st.integers(2024, 2028), st.integers(1, 12)))
def test_setting_at_matches_a_replay_of_the_history(history: list[tuple[datetime, bool]],
                                                   run_month: tuple[int, int]) -> None:
    # Replay in time order every change made before the run opened.
    opens = run_opens_at(run_month)
    state = False
    for _, _, enabled in sorted((at, i, on) for i, (at, on) in enumerate(history)
                                if at < opens):
        state = enabled
    assert setting_at(history, run_month) is state


# --------------------------------------------------------------------------- INV-REQ-30


def test_inv_req_30_the_previous_months_bill_is_invoiced_in_full() -> None:
    decision = decide((2025, 3), 12345, 20000, True)
    assert decision == Decision("invoice", (2025, 3), (2025, 2), 12345, None)
    assert decision.issues
    assert decide((2025, 3), 12345, 12345, True).outcome == "invoice"  # exactly enough


def test_inv_req_30_short_invoiceable_amount_skips_with_a_notice() -> None:
    decision = decide((2025, 1), 12345, 12344, True)
    assert (decision.outcome, decision.amount_fen, decision.bill_month) == ("skip_short", 0,
                                                                            (2024, 12))
    assert not decision.issues
    assert decision.notice is not None
    assert "2024年12月账单金额为 123.45 元" in decision.notice
    assert "剩余可开票金额为 123.44 元" in decision.notice
    assert "手动申请开票" in decision.notice


def test_inv_req_30_disabled_and_empty() -> None:
    assert decide((2025, 3), 12345, 20000, False).outcome == "skip_disabled"
    assert decide((2025, 3), 0, 20000, True).outcome == "skip_empty"
    assert decide((2025, 3), -500, 20000, True).outcome == "skip_empty"
    assert decide((2025, 3), 0, 0, False).outcome == "skip_disabled"
    assert decide((2025, 3), 12345, 20000, False).notice is None


def test_decide_refuses_non_fen_amounts() -> None:
    with pytest.raises(ValueError):
        decide((2025, 3), 123.45, 20000, True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        decide((2025, 3), 100, 200, 1)  # type: ignore[arg-type]


@given(st.integers(-10**6, 10**9), st.integers(-10**6, 10**9), st.booleans())
def test_decide_issues_only_what_is_covered(bill: int, invoiceable: int, enabled: bool) -> None:
    decision = decide((2025, 6), bill, invoiceable, enabled)
    if decision.issues:
        assert enabled and 0 < decision.amount_fen == bill <= invoiceable
    else:
        assert decision.amount_fen == 0
        assert (decision.notice is not None) == (decision.outcome == "skip_short")


# --------------------------------------------------------------------------- idempotency


def test_run_key_is_deterministic_per_account_and_run_month() -> None:
    assert run_key("100000000001", (2025, 3)) == "auto-invoice:100000000001:2025-03"
    assert run_key("100000000001", (2025, 3)) == run_key("100000000001", (2025, 3))
    assert run_key("100000000001", (2025, 3)) != run_key("100000000001", (2025, 4))
    assert run_key("100000000001", (2025, 3)) != run_key("100000000002", (2025, 3))
    with pytest.raises(ValueError):
        run_key("abc", (2025, 3))
    with pytest.raises(ValueError):
        run_key("100000000001", (2025, 0))


def test_run_application_id_is_a_stable_uuid() -> None:
    first = run_application_id("100000000001", (2025, 3))
    assert first == run_application_id("100000000001", (2025, 3))
    assert uuid.UUID(first).version == 5 and len(first) == 36
    assert first != run_application_id("100000000001", (2025, 4))
    # Pinned: ids already stored must never change.
    assert first == str(uuid.uuid5(uuid.UUID("0d6f7c0e-8a4b-5d1e-9c3f-2b7a6e4d1f90"),
                                   "auto-invoice:100000000001:2025-03"))
