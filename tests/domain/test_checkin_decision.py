"""Deciding a self check-in or check-out scan, and the words the participant reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from checkin.domain.checkin_decision import Decision, Outcome, decide_checkin, message
from checkin.domain.model import (
    Mark,
    MarkSource,
    MarkStatus,
    SessionInfo,
    SessionKind,
    SessionMode,
    SessionStatus,
)
from checkin.domain.tokens import TokenCode, TokenRejection

LONDON = ZoneInfo("Europe/London")
ROSTER = frozenset({1, 2, 3})


def at(hhmm: str, second: int = 0) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2025, 6, 3, hour, minute, second, tzinfo=LONDON)


SESSION = SessionInfo(
    id=42,
    title="Residential day 2",
    kind=SessionKind.RESIDENTIAL,
    mode=SessionMode.FACE_TO_FACE,
    starts_at=at("09:00"),
    ends_at=at("17:00"),
    programme_id=7,
)


def present(arrived: str, status: MarkStatus = MarkStatus.PRESENT, minutes_late: int = 0) -> Mark:
    return Mark(
        1, status, "/", at(arrived), arrived_at=at(arrived), minutes_late=minutes_late, source=MarkSource.QR
    )


def decide(now: datetime, existing: Mark | None = None, person_id: int = 1, **kwargs: object) -> Decision:
    return decide_checkin(now, SESSION, ROSTER, person_id, existing, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "grace", "outcome", "status", "minutes_late"),
    [
        (at("08:00"), 0, "checked_in", MarkStatus.PRESENT, 0),
        (at("08:55"), 0, "checked_in", MarkStatus.PRESENT, 0),
        (at("09:00", 59), 0, "checked_in", MarkStatus.PRESENT, 0),
        (at("09:01"), 0, "late", MarkStatus.LATE, 1),
        (at("09:07", 40), 0, "late", MarkStatus.LATE, 7),
        (at("09:05", 59), 5, "checked_in", MarkStatus.PRESENT, 0),
        (at("09:06"), 5, "late", MarkStatus.LATE, 6),
        (at("17:00"), 0, "late", MarkStatus.LATE, 480),
    ],
)
def test_an_arrival_after_start_plus_grace_is_late_by_whole_minutes_from_the_start(
    now: datetime, grace: int, outcome: str, status: MarkStatus, minutes_late: int
) -> None:
    decision = decide(now, grace_minutes=grace)
    assert (decision.outcome, decision.mark_status, decision.minutes_late) == (outcome, status, minutes_late)


def test_a_scan_before_check_in_opens_is_refused_with_the_opening_time() -> None:
    decision = decide(at("07:59", 59))
    assert decision.outcome == "checkin_not_open"
    assert decision.opens_at == at("08:00")
    assert not decision.recorded


def test_the_opening_can_be_set_per_programme() -> None:
    assert decide(at("08:40"), opens_minutes_before=15).outcome == "checkin_not_open"
    assert decide(at("08:45"), opens_minutes_before=15).outcome == "checked_in"


def test_a_scan_after_the_session_ends_is_refused_as_closed() -> None:
    decision = decide(at("17:00", 1))
    assert (decision.outcome, decision.closes_at, decision.recorded) == ("checkin_closed", at("17:00"), False)


def test_check_in_can_stay_open_after_the_end() -> None:
    assert decide(at("17:20"), closes_minutes_after_end=30).outcome == "late"


def test_a_scan_for_a_cancelled_session_is_refused() -> None:
    cancelled = replace(SESSION, status=SessionStatus.CANCELLED)
    decision = decide_checkin(at("09:00"), cancelled, ROSTER, 1, None)
    assert (decision.outcome, decision.recorded) == ("session_cancelled", False)


def test_a_force_majeure_session_still_takes_arrivals() -> None:
    affected = replace(SESSION, status=SessionStatus.FORCE_MAJEURE)
    assert decide_checkin(at("09:00"), affected, ROSTER, 1, None).outcome == "checked_in"


def test_someone_not_on_the_roster_is_refused_and_nothing_is_recorded() -> None:
    decision = decide(at("09:00"), person_id=99)
    assert (decision.outcome, decision.recorded) == ("not_on_roster", False)


def test_a_second_scan_says_when_the_first_was_and_records_nothing() -> None:
    decision = decide(at("09:30"), present("08:55"))
    assert (decision.outcome, decision.first_at, decision.recorded) == (
        "already_checked_in",
        at("08:55"),
        False,
    )


def test_a_second_scan_after_closing_still_says_when_the_first_was() -> None:
    assert decide(at("18:00"), present("08:55")).outcome == "already_checked_in"


def test_a_tablet_mark_without_an_arrival_time_counts_as_the_first_check_in() -> None:
    mark = Mark(1, MarkStatus.PRESENT, "/", at("09:10"))
    assert decide(at("09:30"), mark).first_at == at("09:10")


def test_an_arrival_after_a_no_contact_mark_is_recorded_as_late() -> None:
    mark = Mark(1, MarkStatus.NO_CONTACT, "N", at("09:15"), source=MarkSource.WATCHER)
    decision = decide(at("09:20"), mark)
    assert (decision.outcome, decision.mark_status, decision.minutes_late) == ("late", MarkStatus.LATE, 20)


def test_a_check_out_before_the_end_records_an_early_departure() -> None:
    decision = decide(at("15:10"), present("08:55"), direction="out")
    assert decision.outcome == "checked_out"
    assert decision.mark_status == MarkStatus.LEFT_EARLY
    assert (decision.left_early, decision.departed_at, decision.minutes_early) == (True, at("15:10"), 110)
    assert decision.share_missed == pytest.approx(110 / 480)


def test_a_check_out_at_the_end_keeps_the_arrival_status() -> None:
    decision = decide(at("17:00"), present("09:07", MarkStatus.LATE, 7), direction="out")
    assert (decision.outcome, decision.mark_status, decision.left_early) == (
        "checked_out",
        MarkStatus.LATE,
        False,
    )
    assert decision.minutes_late == 7


def test_content_missed_counts_a_late_arrival_and_an_early_departure() -> None:
    decision = decide(at("16:00"), present("10:00", MarkStatus.LATE, 60), direction="out")
    assert decision.share_missed == pytest.approx(120 / 480)


def test_leaving_before_the_start_misses_all_the_content() -> None:
    decision = decide(at("08:50"), present("08:30"), direction="out")
    assert decision.share_missed == 1.0


def test_a_check_out_without_a_check_in_is_refused() -> None:
    decision = decide(at("15:00"), None, direction="out")
    assert (decision.outcome, decision.recorded) == ("not_checked_in", False)


def test_a_check_out_over_an_absence_mark_is_refused() -> None:
    mark = Mark(1, MarkStatus.ABSENT_AUTHORISED, "C", at("08:00"))
    assert decide(at("15:00"), mark, direction="out").outcome == "not_checked_in"


def test_a_second_check_out_says_when_the_first_was() -> None:
    mark = replace(present("08:55", MarkStatus.LEFT_EARLY), departed_at=at("15:10"))
    decision = decide(at("15:20"), mark, direction="out")
    assert (decision.outcome, decision.first_at, decision.recorded) == (
        "already_checked_out",
        at("15:10"),
        False,
    )


def test_a_check_out_by_someone_not_on_the_roster_is_refused() -> None:
    assert decide(at("15:00"), None, person_id=99, direction="out").outcome == "not_on_roster"


def decision_of(outcome: Outcome, **fields: object) -> Decision:
    return replace(Decision(outcome, 42, 1, datetime(2025, 6, 3, 8, 2, tzinfo=UTC)), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("decision", "words"),
    [
        (decision_of(Outcome.CHECKED_IN), "Checked in at 09:02"),
        (decision_of(Outcome.LATE, minutes_late=7), "Late by 7 minutes — checked in at 09:02"),
        (decision_of(Outcome.LATE, minutes_late=1), "Late by 1 minute — checked in at 09:02"),
        (
            decision_of(Outcome.ALREADY_CHECKED_IN, first_at=datetime(2025, 6, 3, 7, 55, tzinfo=UTC)),
            "Already checked in at 08:55",
        ),
        (
            decision_of(Outcome.NOT_ON_ROSTER),
            "You are not on the list for this session — please see the team",
        ),
        (
            decision_of(Outcome.CHECKIN_NOT_OPEN, opens_at=datetime(2025, 6, 3, 7, 0, tzinfo=UTC)),
            "Check-in opens at 08:00",
        ),
        (decision_of(Outcome.CHECKIN_CLOSED), "Check-in for this session has closed — please see the team"),
        (decision_of(Outcome.SESSION_CANCELLED), "This session has been cancelled"),
        (
            decision_of(Outcome.CHECKED_OUT, left_early=True, minutes_early=110),
            "Checked out at 09:02, 110 minutes before the end",
        ),
        (decision_of(Outcome.CHECKED_OUT), "Checked out at 09:02"),
        (
            decision_of(Outcome.ALREADY_CHECKED_OUT, first_at=datetime(2025, 6, 3, 7, 55, tzinfo=UTC)),
            "Already checked out at 08:55",
        ),
        (
            decision_of(Outcome.NOT_CHECKED_IN),
            "You have not checked in to this session, so you cannot check out — please see the team",
        ),
    ],
)
def test_each_outcome_reads_in_plain_words_in_london_time(decision: Decision, words: str) -> None:
    assert message(decision, LONDON) == words


def test_every_outcome_has_words() -> None:
    for outcome in Outcome:
        assert message(decision_of(outcome), LONDON)


def test_a_winter_check_in_reads_in_greenwich_time() -> None:
    winter = replace(
        SESSION,
        starts_at=datetime(2025, 1, 14, 9, 0, tzinfo=LONDON),
        ends_at=datetime(2025, 1, 14, 17, 0, tzinfo=LONDON),
    )
    decision = decide_checkin(datetime(2025, 1, 14, 9, 2, tzinfo=UTC), winter, ROSTER, 1, None)
    assert message(decision, LONDON) == "Late by 2 minutes — checked in at 09:02"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (TokenCode.EXPIRED, "This code has expired — scan the screen again"),
        (TokenCode.FORGED, "This code is not recognised — scan the screen again"),
        (TokenCode.MALFORMED, "This code is not recognised — scan the screen again"),
        (TokenCode.WRONG_DAY, "This code is for a different day — scan today's code"),
    ],
)
def test_a_refused_code_reads_in_plain_words(code: TokenCode, words: str) -> None:
    assert message(TokenRejection(code, 42), LONDON) == words


def test_every_token_refusal_has_words() -> None:
    for code in TokenCode:
        assert message(TokenRejection(code), LONDON)


def test_not_on_the_list_reads_the_same_for_anyone() -> None:
    stranger = decide(at("09:00"), person_id=10_000)
    on_another_roster = decide_checkin(at("09:00"), SESSION, frozenset({1, 2}), 3, None)
    assert stranger.outcome == on_another_roster.outcome == "not_on_roster"
    assert message(stranger, LONDON) == message(on_another_roster, LONDON)
