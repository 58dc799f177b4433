"""Flagging one device that checks in several different people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checkin.domain.sharing import SharingPolicy, flag_device, shared_with

NOW = datetime(2025, 6, 3, 8, 30, tzinfo=UTC)
POLICY = SharingPolicy()


def ago(seconds: int) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("recent", "flagged"),
    [
        ([], False),
        ([(1, ago(60))], False),
        ([(1, ago(60)), (1, ago(30))], False),
        ([(2, ago(60))], True),
        ([(2, ago(600))], True),
        ([(2, ago(601))], False),
        ([(2, NOW + timedelta(seconds=120))], True),
        ([(1, ago(5)), (2, ago(3600))], False),
    ],
)
def test_a_device_that_checked_in_someone_else_within_ten_minutes_is_flagged(
    recent: list[tuple[int, datetime]], flagged: bool
) -> None:
    assert flag_device(recent, 1, NOW, POLICY) is flagged


def test_a_device_may_check_in_as_many_people_as_the_policy_allows() -> None:
    family = SharingPolicy(window_s=600, max_people=3)
    assert not flag_device([(2, ago(60)), (3, ago(30))], 1, NOW, family)
    assert flag_device([(2, ago(60)), (3, ago(30)), (4, ago(10))], 1, NOW, family)


def test_a_shorter_window_forgets_older_check_ins() -> None:
    assert not flag_device([(2, ago(120))], 1, NOW, SharingPolicy(window_s=60))


def test_the_tutor_is_told_who_else_used_the_device() -> None:
    recent = [(2, ago(60)), (3, ago(300)), (1, ago(10)), (4, ago(7200))]
    assert shared_with(recent, 1, NOW, POLICY) == frozenset({2, 3})
