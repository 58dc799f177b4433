"""LATE-CANCEL: a participant's cancellation under 24 h before is spent; a coach's never counts against them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from checkin.domain.model import CancelledBy
from checkin.domain.rules import CancellationEffect, cancellation_effect

from .builders import london, utc

START = utc(2026, 3, 10, 9, 0)


@pytest.mark.parametrize(("by", "before", "effect"), [
    (CancelledBy.PARTICIPANT, timedelta(hours=23, minutes=59), "spent"),
    (CancelledBy.PARTICIPANT, timedelta(hours=24), "excused"),
    (CancelledBy.PARTICIPANT, timedelta(days=3), "excused"),
    (CancelledBy.PARTICIPANT, timedelta(minutes=-5), "spent"),  # after the start
    (CancelledBy.COACH, timedelta(hours=1), "reschedule_task"),
    (CancelledBy.COACH, timedelta(days=3), "reschedule_task"),
    (CancelledBy.PROVIDER, timedelta(hours=1), "reschedule_task"),
])
def test_the_effect_of_a_cancellation_depends_on_who_and_how_early(by: CancelledBy, before: timedelta,
                                                                    effect: str) -> None:
    assert cancellation_effect(by, START - before, START) == effect


def test_the_window_is_the_programmes_setting() -> None:
    assert cancellation_effect(CancelledBy.PARTICIPANT, START - timedelta(hours=30), START, 48) == "spent"


def test_the_window_counts_real_hours_across_the_spring_clock_change() -> None:
    # 10:00 GMT Saturday to 10:00 BST Sunday is 24 hours on the clock but only 23 real hours.
    start = london(2026, 3, 29, 10, 0)
    assert cancellation_effect(CancelledBy.PARTICIPANT, london(2026, 3, 28, 10, 0), start) == "spent"
    assert cancellation_effect(CancelledBy.PARTICIPANT, london(2026, 3, 28, 9, 0), start) == "excused"


def test_the_effect_is_a_string_enum_and_accepts_a_plain_string() -> None:
    effect = cancellation_effect("coach", START, START)
    assert effect is CancellationEffect.RESCHEDULE_TASK and effect == "reschedule_task"


def test_a_cancellation_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError):
        cancellation_effect(CancelledBy.PARTICIPANT, datetime(2026, 3, 9, 9, 0), START)
