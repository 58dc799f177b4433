"""The retry schedule as pure arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.retry import RetrySchedule

NOW = datetime(2025, 3, 10, 9, 15, tzinfo=UTC)
DEFAULT = RetrySchedule()
attempts = st.integers(min_value=1, max_value=10_000)
rands = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


def test_the_default_nominal_delays_double_from_30_seconds_up_to_the_hour_cap() -> None:
    assert [DEFAULT.nominal(n) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@given(attempts)
def test_nominal_delays_never_shrink_as_attempts_grow(attempt: int) -> None:
    assert DEFAULT.nominal(attempt + 1) >= DEFAULT.nominal(attempt)


@given(attempts, rands)
def test_a_jittered_delay_lies_between_half_the_nominal_delay_and_the_nominal_delay(
    attempt: int, rand: float
) -> None:
    nominal = DEFAULT.nominal(attempt)
    assert nominal / 2 <= DEFAULT.delay(attempt, rand) <= nominal


@given(attempts, rands)
def test_no_delay_exceeds_the_cap(attempt: int, rand: float) -> None:
    schedule = RetrySchedule(base_s=7, factor=3.5, cap_s=100, max_attempts=50)
    assert schedule.delay(attempt, rand) <= 100


def test_the_jitter_spans_the_whole_upper_half() -> None:
    assert (DEFAULT.delay(3, 0.0), DEFAULT.delay(3, 0.5), DEFAULT.delay(3, 1.0)) == (60, 90, 120)


def test_the_next_attempt_is_the_jittered_delay_after_now() -> None:
    assert DEFAULT.next_attempt_at(2, NOW, 0.5) == NOW + timedelta(seconds=45)


def test_there_is_no_next_attempt_after_the_last_allowed_attempt() -> None:
    schedule = RetrySchedule(max_attempts=3)
    assert schedule.next_attempt_at(2, NOW, 0.5) is not None
    assert schedule.next_attempt_at(3, NOW, 0.5) is None
    assert schedule.next_attempt_at(4, NOW, 0.5) is None


def test_a_random_draw_outside_the_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        DEFAULT.delay(1, 1.5)


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        DEFAULT.nominal(0)


def test_a_cap_below_the_base_delay_is_refused() -> None:
    with pytest.raises(ValueError):
        RetrySchedule(base_s=60, cap_s=30)
