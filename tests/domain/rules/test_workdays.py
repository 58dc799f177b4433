"""Working-day counting: weekends and configured bank holidays are skipped."""

from __future__ import annotations

from datetime import date

import pytest

from checkin.domain.rules import add_working_days

EASTER = frozenset({date(2026, 4, 3), date(2026, 4, 6)})
CHRISTMAS = frozenset({date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)})


@pytest.mark.parametrize(("start", "n", "holidays", "expected"), [
    (date(2026, 3, 9), 5, frozenset(), date(2026, 3, 16)),  # Monday -> Monday
    (date(2026, 3, 6), 1, frozenset(), date(2026, 3, 9)),  # Friday -> Monday
    (date(2026, 3, 7), 1, frozenset(), date(2026, 3, 9)),  # a Saturday start counts from Monday
    (date(2026, 3, 6), 0, frozenset(), date(2026, 3, 6)),
    (date(2026, 4, 2), 5, EASTER, date(2026, 4, 13)),
    (date(2026, 4, 2), 5, frozenset(), date(2026, 4, 9)),  # the same days without holidays configured
    (date(2026, 4, 2), 1, EASTER, date(2026, 4, 7)),
    (date(2026, 12, 24), 5, CHRISTMAS, date(2027, 1, 5)),  # 29, 30, 31 Dec, 4, 5 Jan
    (date(2026, 12, 24), 2, CHRISTMAS, date(2026, 12, 30)),
])
def test_add_working_days_skips_weekends_and_bank_holidays(start: date, n: int, holidays: frozenset[date],
                                                           expected: date) -> None:
    assert add_working_days(start, n, holidays) == expected


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 3, 9), -1)
