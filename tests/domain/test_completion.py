"""Completion and thresholds with the numbers from the AMB, NPQ, PSW and AP policies.

Sessions are written as letters, oldest first, all in the past unless F:
L attended, C missed and caught up, M unauthorised absence, A authorised absence,
S spent (late cancellation), X force majeure (excluded), N not-possible code, U past and
unmarked, F still to come, E attended but left halfway, e attended but left 20% early,
u arrived after the register closed (school code U: there, but an unauthorised absence).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from checkin.domain.completion import (
    REQUIREMENT_PRESETS,
    AllMandatory,
    AttendanceThreshold,
    CompletionStatus,
    InvalidRequirement,
    LiveShare,
    MaxMissed,
    MinCount,
    MinPercent,
    Outcome,
    Requirement,
    SessionRecord,
    catch_up_required,
    classify,
    crossed,
    evaluate,
    minutes_late,
    persistence_flag,
    requirement_from_dict,
    requirements_from_json,
    requirements_to_json,
    share_missed,
    stored_requirements,
    weekly_percentages,
)
from checkin.domain.model import Category

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=LONDON)
ON, RISK, CANNOT = "on_track", "at_risk", "cannot_complete"

_LETTERS: dict[str, dict[str, object]] = {
    "L": {"category": Category.PRESENT, "live": True},
    "E": {"category": Category.PRESENT, "live": True, "minutes_missed_share": 0.5},
    "e": {"category": Category.PRESENT, "live": True, "minutes_missed_share": 0.2},
    "u": {"category": Category.UNAUTHORISED, "live": True},
    "C": {"category": Category.AUTHORISED, "catch_up": True},
    "M": {"category": Category.UNAUTHORISED},
    "A": {"category": Category.AUTHORISED},
    "S": {"category": Category.UNAUTHORISED, "spent": True},
    "X": {"category": Category.AUTHORISED, "excluded": True},
    "N": {"category": Category.NOT_POSSIBLE},
    "U": {},
    "F": {},
}


def sessions(**elements: str) -> list[SessionRecord]:
    """Records from letter strings per element; spaces are ignored."""
    out: list[SessionRecord] = []
    for element, spec in elements.items():
        for letter in spec.replace(" ", ""):
            i = len(out) + 1
            starts_at = NOW + timedelta(days=i) if letter == "F" else NOW - timedelta(days=90 - i)
            out.append(SessionRecord(i, element, starts_at, **_LETTERS[letter]))  # type: ignore[arg-type]
    return out


def verdict(preset_or_requirements: str | tuple[Requirement, ...], key: str, **elements: str) -> tuple[str, str]:
    requirements = (REQUIREMENT_PRESETS[preset_or_requirements] if isinstance(preset_or_requirements, str)
                    else preset_or_requirements)
    result = evaluate(sessions(**elements), requirements, NOW).result(key)
    return result.status.value, result.reason


# --- PSW-MIN: coaching 3, modules 4, peer 2, 80% elsewhere (PSW 1.1.4-1.1.5, 2.1.2, 2.3.1) ---

@pytest.mark.parametrize(("key", "elements", "expected"), [
    pytest.param("PSW-MIN:coaching", {"coaching": "LLL"}, ON, id="exactly 3 coaching sessions meets the minimum"),
    pytest.param("PSW-MIN:coaching", {"coaching": "LLM"}, CANNOT, id="2 coaching sessions and none left fails"),
    pytest.param("PSW-MIN:coaching", {"coaching": "LLC"}, CANNOT, id="a coaching catch-up does not count"),
    pytest.param("PSW-MIN:coaching", {"coaching": "LLMF"}, RISK, id="after a miss the last coaching must be attended"),
    pytest.param("PSW-MIN:coaching", {"coaching": "LLSF"}, RISK, id="a spent coaching session counts against"),
    pytest.param("PSW-MIN:coaching", {"coaching": "LLS"}, CANNOT, id="a spent session can put 3 out of reach"),
    pytest.param("PSW-MIN:coaching", {"coaching": "LLXF"}, ON, id="a coach cancellation never counts against"),
    pytest.param("PSW-MIN:coaching", {"coaching": "FFFFFF"}, ON, id="six coaching sessions ahead is on track"),
    pytest.param("PSW-MIN:coaching", {"residential": "LL"}, CANNOT, id="no coaching scheduled cannot reach 3"),
    pytest.param("PSW-MIN:modules", {"modules": "LLLL"}, ON, id="exactly 4 modules meets the minimum"),
    pytest.param("PSW-MIN:modules", {"modules": "LLLC"}, ON, id="a module catch-up counts"),
    pytest.param("PSW-MIN:modules", {"modules": "LLLM"}, RISK, id="a missed module must be caught up"),
    pytest.param("PSW-MIN:modules", {"modules": "LLMMF"}, RISK, id="two modules short with one left needs a catch-up"),
    pytest.param("PSW-MIN:modules", {"modules": "LLLMS"}, RISK, id="one module short can still be caught up"),
    pytest.param("PSW-MIN:modules", {"modules": "LLSS"}, CANNOT, id="spent modules cannot be caught up"),
    pytest.param("PSW-MIN:peer", {"peer": "LL"}, ON, id="exactly 2 peer sessions meets the minimum"),
    pytest.param("PSW-MIN:peer", {"peer": "LF"}, ON, id="one peer session done and one to come is on track"),
    pytest.param("PSW-MIN:peer", {"peer": "MFF"}, RISK, id="a missed peer session leaves no slack"),
    pytest.param("PSW-MIN", {"residential": "LLLLLLLLMM"}, ON, id="exactly 80 percent elsewhere meets it"),
    pytest.param("PSW-MIN", {"residential": "LLLLLLLMMM"}, RISK, id="70 percent elsewhere must catch up"),
    pytest.param("PSW-MIN", {"residential": "LLLLLLLCCM"}, ON, id="catch-ups lift other elements to 90 percent"),
    pytest.param("PSW-MIN", {"residential": "LLLSS"}, CANNOT, id="spent sessions elsewhere cannot be caught up"),
    pytest.param("PSW-MIN", {"residential": "LLLXX"}, ON, id="force majeure is excluded from the percentage"),
    pytest.param("PSW-MIN", {"coaching": "MMM", "residential": "LLLLL"}, ON,
                 id="the 80 percent rule leaves out elements with their own minimum"),
])
def test_psw_minimums_follow_the_policy_numbers(key: str, elements: dict[str, str], expected: str) -> None:
    assert verdict("psw", key, **elements)[0] == expected


def test_psw_exactly_80_percent_elsewhere_reports_80_as_current() -> None:
    result = evaluate(sessions(residential="LLLLLLLLMM"), REQUIREMENT_PRESETS["psw"], NOW).result("PSW-MIN")
    assert (result.current, result.target, result.unit) == (80.0, 80, "percent")


def test_psw_other_elements_projection_counts_catch_up_of_every_missed_session() -> None:
    result = evaluate(sessions(residential="LLMM FFFFFF"), REQUIREMENT_PRESETS["psw"], NOW).result("PSW-MIN")
    assert (result.status, result.current, result.best) == (CompletionStatus.AT_RISK, 50.0, 100.0)
    assert "every one of the 6 remaining must be attended or caught up" in result.reason


def test_psw_coaching_projection_says_how_many_sessions_can_still_be_reached() -> None:
    result = evaluate(sessions(coaching="LMS F"), REQUIREMENT_PRESETS["psw"], NOW).result("PSW-MIN:coaching")
    assert (result.status.value, result.current, result.best, result.unit) == (CANNOT, 1, 2, "sessions")
    assert result.reason == "Coaching: 1 session done, 3 needed; at most 2 can still be reached " \
                            "(catch-up does not count here)."


def test_psw_80_percent_without_catch_up_cannot_be_met_once_too_many_are_missed() -> None:
    strict = (MinPercent(None, 80, catch_up_counts=False),)
    assert verdict(strict, "MIN-PERCENT", residential="LLLLLLLMMM")[0] == CANNOT


# --- NPQ-90: at least 90% of content engaged, catch-up included (NPQ 2, AMB Reformed NPQs) ---

@pytest.mark.parametrize(("modules", "expected"), [
    pytest.param("LLLLLLLLLM", ON, id="exactly 90 percent is eligible"),
    pytest.param("LLLLLLLLMM", RISK, id="80 percent must catch up one session"),
    pytest.param("LLLLLLLLCM", ON, id="a catch-up counts towards the 90 percent"),
    pytest.param("LLLLMFFFFF", RISK, id="one miss halfway leaves every remaining session needed"),
    pytest.param("LLLLLFFFFF", ON, id="a clean first half is on track"),
    pytest.param("LLLLLLLLEE", RISK, id="leaving halfway counts as missed until caught up"),
    pytest.param("LLLLLLLLee", ON, id="leaving with 20 percent missed needs no catch-up"),
    pytest.param("LLLLLLLLU", ON, id="a past session awaiting its mark is not yet missed"),
])
def test_npq_needs_90_percent_of_content(modules: str, expected: str) -> None:
    assert verdict("npq_reformed", "NPQ-90", modules=modules)[0] == expected


def test_npq_at_exactly_90_percent_reports_90_as_current_and_the_reason_says_met() -> None:
    result = evaluate(sessions(modules="LLLLLLLLLM"), REQUIREMENT_PRESETS["npq_reformed"], NOW).result("NPQ-90")
    assert result.current == 90.0
    assert result.reason == "Programme: 9 sessions done, 9 of 10 (90%) needed — met."


def test_npq_rounds_the_sessions_needed_up_not_down() -> None:
    status, reason = verdict("npq_reformed", "NPQ-90", modules="LLLLLM")
    assert status == RISK and "6 of 6 (90%) needed" in reason


# --- LIVE-80: 100% of content, at least 80% live, at most 20% catch-up (AMB Executive Leaders) ---

@pytest.mark.parametrize(("content", "expected"), [
    pytest.param("LLLLLLLLCC", ON, id="80 percent live and 20 percent catch-up completes"),
    pytest.param("LLLLLLLLLC", ON, id="90 percent live and 10 percent catch-up completes"),
    pytest.param("LLLLLLLCCC", CANNOT, id="70 percent live cannot complete even with catch-up"),
    pytest.param("LLLLLLLLMC", RISK, id="a missed session must still be caught up"),
    pytest.param("LLLLLLLLMM", RISK, id="two missed sessions can both still be caught up"),
    pytest.param("LLLLLLLMMM", CANNOT, id="three missed sessions leave live attendance below 80 percent"),
    pytest.param("LLLLLLLLCS", CANNOT, id="a spent session can never reach 100 percent"),
    pytest.param("LLLLLLCC FF", RISK, id="with the catch-up allowance used the rest must be live"),
    pytest.param("LLLLLLLC FF", ON, id="one catch-up used with two to come is on track"),
    pytest.param("LLLLLLLLXX", ON, id="force majeure sessions are left out"),
    pytest.param("FFFFFFFFFF", ON, id="a participant who has lost nothing is on track"),
])
def test_executive_leaders_need_all_content_with_80_percent_live(content: str, expected: str) -> None:
    assert verdict("amb_executive_leaders", "LIVE-80", residential=content)[0] == expected


def test_live_share_projection_reports_the_best_reachable_share() -> None:
    result = evaluate(sessions(residential="LLLLLLLMMM"), (LiveShare(),), NOW).result("LIVE-80")
    assert (result.current, result.best) == (70.0, 90.0)


# --- MAX-MISSED: no more than 2 missed, each with a catch-up (AMB NPQ Alliance) ---

@pytest.mark.parametrize(("core", "expected"), [
    pytest.param("LLLLLLCCC", CANNOT, id="three missed sessions fail"),
    pytest.param("LLLLLLLCC", ON, id="two missed sessions each caught up pass"),
    pytest.param("LLLLLLLMM", RISK, id="two missed sessions without catch-up are at risk"),
    pytest.param("LLLLLLLMC", RISK, id="one of two missed sessions still needs a catch-up"),
    pytest.param("LLLLLCC FF", RISK, id="two missed with sessions left allows no further miss"),
    pytest.param("LLLLLLLCF", ON, id="one missed and caught up with one to come is on track"),
    pytest.param("LLLLLLLLS", CANNOT, id="a spent session cannot be caught up"),
    pytest.param("LLLLLLXXX", ON, id="force majeure sessions are not missed sessions"),
])
def test_npq_alliance_allows_at_most_two_missed_sessions_each_caught_up(core: str, expected: str) -> None:
    assert verdict("amb_npq_alliance", "MAX-MISSED", core=core)[0] == expected


def test_max_missed_without_the_catch_up_condition_only_counts() -> None:
    assert verdict((MaxMissed(2, require_catch_up=False),), "MAX-MISSED", core="LLLLLLLMM")[0] == ON


def test_max_missed_reports_the_number_missed_against_the_allowance() -> None:
    result = evaluate(sessions(core="LLLLLLCCC"), REQUIREMENT_PRESETS["amb_npq_alliance"], NOW).result("MAX-MISSED")
    assert (result.current, result.target, result.unit) == (3, 2, "missed")
    assert result.reason == "Programme: 3 sessions missed, no more than 2 allowed."


# --- ALL-MANDATORY: 100% of mandatory events, optional never counts against (AMB Future Leaders) ---

@pytest.mark.parametrize(("mandatory", "optional", "requirement", "expected"), [
    pytest.param("LLLL", "MM", AllMandatory(), ON, id="missing optional events still on track"),
    pytest.param("LLLA", "", AllMandatory(), RISK, id="an approved absence must be caught up"),
    pytest.param("LLLC", "", AllMandatory(), ON, id="a caught-up mandatory event counts"),
    pytest.param("LLFF", "", AllMandatory(), ON, id="a perfect record so far is on track"),
    pytest.param("LLLC", "", AllMandatory(catch_up_counts=False), CANNOT, id="strictly live a catch-up fails"),
    pytest.param("LLLS", "", AllMandatory(), CANNOT, id="a spent mandatory event fails"),
    pytest.param("LLLX", "", AllMandatory(), ON, id="a force majeure event is excluded"),
])
def test_future_leaders_need_every_mandatory_event(mandatory: str, optional: str, requirement: AllMandatory,
                                                   expected: str) -> None:
    records = sessions(residential=mandatory) + [replace(r, session_id=100 + r.session_id, mandatory=False)
                                                 for r in sessions(optional=optional)]
    assert evaluate(records, (requirement,), NOW).result("ALL-MANDATORY").status.value == expected


# --- AP-90 and PERSISTENT (AP policy; England's attendance guidance) ---

@pytest.mark.parametrize(("tuition", "expected", "words"), [
    pytest.param("LLLLLLLLLM", ON, "90% over 10 sessions, at or above 90%", id="exactly 90 percent is not escalated"),
    pytest.param("LLLLLLLLMM", RISK, "80% over 10 sessions is below 90% (persistent absence)",
                 id="80 percent is escalated as persistent absence"),
    pytest.param("LLLLMMMMMM", RISK, "(severe absence)", id="40 percent is escalated as severe absence"),
    pytest.param("LLLLLLLLLN", ON, "100%", id="a not-possible session is left out of the percentage"),
    pytest.param("LLLLLLLLLu", ON, "90%", id="arriving after the register closed counts as absent"),
    pytest.param("LLLLLLLLLE", ON, "100%", id="a pupil who left early was present"),
    pytest.param("MMMMM", RISK, "0%", id="the threshold is an escalation line never cannot complete"),
    pytest.param("FFF", ON, "no sessions marked yet", id="no marks yet is not escalated"),
])
def test_ap_escalates_below_90_percent_attendance(tuition: str, expected: str, words: str) -> None:
    status, reason = verdict("ap", "AP-90", tuition=tuition)
    assert status == expected and words in reason


def test_a_late_after_close_mark_lowers_attendance_but_still_counts_as_attended_content() -> None:
    result = evaluate(sessions(tuition="LLLLLLLLuu"), (AttendanceThreshold(), MaxMissed(0)), NOW)
    assert (result.result("AP-90").current, result.result("MAX-MISSED").current) == (80.0, 0)


@pytest.mark.parametrize(("attendance", "flag"), [
    (100.0, "none"), (90.1, "none"), (90.0, "persistent"), (75.0, "persistent"),
    (50.1, "persistent"), (50.0, "severe"), (0.0, "severe"),
])
def test_missing_10_percent_or_more_is_persistent_and_50_percent_or_more_severe(attendance: float,
                                                                                  flag: str) -> None:
    assert persistence_flag(attendance) == flag


def test_the_result_carries_the_persistence_flag_of_register_attendance() -> None:
    assert evaluate(sessions(tuition="LLLLLLLLLM"), (), NOW).persistence == "persistent"


# --- evaluate: counts, statuses, serialisation ---

def test_evaluate_counts_every_outcome_per_element() -> None:
    result = evaluate(sessions(residential="LCMASXNUFE", coaching="LF"), (), NOW)
    r = result.elements["residential"]
    assert (r.attended, r.caught_up, r.missed, r.spent, r.excluded, r.remaining, r.unmarked, r.left_early) == (
        1, 1, 3, 1, 2, 1, 1, 1)
    assert list(result.elements) == ["coaching", "residential"]
    assert (result.overall.attended, result.overall.remaining) == (2, 2)


def test_percentages_are_over_decided_sessions_without_excluded_ones() -> None:
    t = evaluate(sessions(modules="LLLCMXXFF"), (), NOW).overall
    assert (t.percent, t.live_percent, t.best_percent) == (80.0, 60.0, 100.0)


def test_the_overall_status_is_the_worst_requirement_status() -> None:
    result = evaluate(sessions(coaching="LLM", modules="LLLL", peer="LL"), REQUIREMENT_PRESETS["psw"], NOW)
    assert [r.status.value for r in result.requirements] == [CANNOT, ON, ON, ON]
    assert result.status == CompletionStatus.CANNOT_COMPLETE


def test_no_requirements_is_on_track() -> None:
    assert evaluate(sessions(modules="MMM"), (), NOW).status == CompletionStatus.ON_TRACK


def test_each_requirement_result_has_a_stable_code_and_unique_key() -> None:
    result = evaluate(sessions(coaching="L"), REQUIREMENT_PRESETS["psw"], NOW)
    assert [(r.code, r.key) for r in result.requirements] == [
        ("PSW-MIN", "PSW-MIN:coaching"), ("PSW-MIN", "PSW-MIN:modules"), ("PSW-MIN", "PSW-MIN:peer"),
        ("PSW-MIN", "PSW-MIN")]


def test_a_future_flag_keeps_a_session_remaining_even_after_its_start() -> None:
    record = replace(sessions(modules="U")[0], future=True)
    assert classify(record, NOW) == Outcome.REMAINING


def test_a_left_early_session_with_a_catch_up_counts_as_attended() -> None:
    record = replace(sessions(modules="E")[0], catch_up=True)
    assert classify(record, NOW) == Outcome.ATTENDED


def test_the_left_early_threshold_is_a_parameter() -> None:
    result = evaluate(sessions(modules="E"), (), NOW, left_early_threshold=0.6)
    assert result.overall.attended == 1


def test_a_share_missed_outside_0_to_1_is_refused() -> None:
    with pytest.raises(ValueError, match="minutes_missed_share"):
        SessionRecord(1, "modules", NOW, minutes_missed_share=1.5)


def test_a_completion_result_serialises_to_json() -> None:
    result = evaluate(sessions(coaching="LLMF", residential="LLX"), REQUIREMENT_PRESETS["psw"], NOW)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == CANNOT
    assert data["requirements"][0]["key"] == "PSW-MIN:coaching"
    assert data["elements"]["residential"]["excluded"] == 1


def test_two_requirements_with_the_same_key_are_refused() -> None:
    with pytest.raises(InvalidRequirement) as caught:
        evaluate([], (MinCount("coaching", 3), MinCount("coaching", 4)), NOW)
    assert caught.value.code == "invalid_requirement"


# --- requirements as JSON policy data ---

@pytest.mark.parametrize("preset", sorted(REQUIREMENT_PRESETS))
def test_every_preset_round_trips_through_json(preset: str) -> None:
    stored = json.loads(json.dumps(requirements_to_json(REQUIREMENT_PRESETS[preset])))
    assert requirements_from_json(stored) == REQUIREMENT_PRESETS[preset]


@pytest.mark.parametrize("data", [
    pytest.param({"type": "min_sessions", "element": "coaching"}, id="unknown type"),
    pytest.param({"type": "min_count", "element": "coaching"}, id="missing min_sessions"),
    pytest.param({"type": "min_count", "element": "coaching", "min_sessions": "3"}, id="a number as text"),
    pytest.param({"type": "min_count", "element": "coaching", "min_sessions": True}, id="a bool for a number"),
    pytest.param({"type": "min_count", "element": "coaching", "min_sessions": -1}, id="a negative minimum"),
    pytest.param({"type": "min_count", "element": "", "min_sessions": 3}, id="an empty element"),
    pytest.param({"type": "min_percent", "element": None, "percent": 150}, id="a percentage over 100"),
    pytest.param({"type": "max_missed", "n": 2, "allow": 3}, id="an unknown field"),
    pytest.param({"type": "live_share", "total_percent": 80, "min_live_percent": 90}, id="live above total"),
    pytest.param(["min_count"], id="not an object"),
])
def test_malformed_requirement_data_is_refused_with_a_stable_code(data: object) -> None:
    with pytest.raises(InvalidRequirement) as caught:
        requirement_from_dict(data)
    assert (caught.value.code, caught.value.status) == ("invalid_requirement", 422)


def test_a_requirement_from_json_takes_defaults_for_missing_optional_fields() -> None:
    assert requirement_from_dict({"type": "attendance_threshold"}) == AttendanceThreshold(90)


def test_stored_requirements_must_be_a_list() -> None:
    with pytest.raises(InvalidRequirement):
        requirements_from_json({"type": "all_mandatory"})


@pytest.mark.parametrize("stored", [None, [], {"type": "all_mandatory"}, [{"type": "min_sessions"}]])
def test_unreadable_or_missing_stored_requirements_are_read_as_none(stored: object) -> None:
    assert stored_requirements(stored) == ()


# --- crossings ---

@pytest.mark.parametrize(("before", "after", "expected"), [
    (None, "on_track", False), (None, "at_risk", True), (None, "cannot_complete", True),
    ("on_track", "on_track", False), ("on_track", "at_risk", True), ("at_risk", "at_risk", False),
    ("at_risk", "cannot_complete", True), ("cannot_complete", "cannot_complete", False),
    ("cannot_complete", "at_risk", False), ("at_risk", "on_track", False),
    (CompletionStatus.ON_TRACK, CompletionStatus.CANNOT_COMPLETE, True),
])
def test_only_a_step_down_is_a_crossing(before: str | None, after: str, expected: bool) -> None:
    assert crossed(before, after) is expected


def test_a_mark_that_keeps_the_status_raises_no_second_escalation() -> None:
    first = evaluate(sessions(residential="LLLLLLLMMM F"), REQUIREMENT_PRESETS["psw"], NOW).status
    second = evaluate(sessions(residential="LLLLLLLMMM L"), REQUIREMENT_PRESETS["psw"], NOW).status
    assert (crossed(None, first), crossed(first, second)) == (True, False)


# --- weekly percentages ---

def test_weekly_percentages_group_sessions_by_iso_week_in_the_local_zone() -> None:
    utc = ZoneInfo("UTC")
    # 23:30 UTC on Sunday 30 March 2025 is 00:30 BST on Monday 31 March in London.
    starts = [datetime(2025, 3, 24, 10, tzinfo=utc), datetime(2025, 3, 26, 10, tzinfo=utc),
              datetime(2025, 3, 30, 23, 30, tzinfo=utc), datetime(2025, 4, 1, 10, tzinfo=utc)]
    cats = [Category.PRESENT, Category.UNAUTHORISED, Category.PRESENT, Category.PRESENT]
    records = [SessionRecord(i, "tuition", s, category=c, live=c == Category.PRESENT)
               for i, (s, c) in enumerate(zip(starts, cats, strict=True))]
    assert weekly_percentages(records, LONDON, NOW) == [(date(2025, 3, 24), 50.0), (date(2025, 3, 31), 100.0)]
    assert weekly_percentages(records, utc, NOW)[0] == (date(2025, 3, 24), pytest.approx(200 / 3))


def test_weekly_percentages_leave_out_future_unmarked_and_excluded_sessions() -> None:
    records = sessions(tuition="LMXUN F")
    assert weekly_percentages(records, LONDON, NOW) == [(date(2025, 3, 3), 50.0)]


def test_weekly_percentages_refuse_a_naive_start_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        weekly_percentages([SessionRecord(7, "tuition", datetime(2025, 3, 3, 9), live=True)], LONDON, NOW)


# --- LEFT-EARLY and LATE arithmetic ---

T9 = datetime(2025, 3, 3, 9, 0, tzinfo=LONDON)


@pytest.mark.parametrize(("departed", "arrived", "share"), [
    pytest.param(T9 + timedelta(minutes=60), None, 0.0, id="leaving at the end misses nothing"),
    pytest.param(T9 + timedelta(minutes=45), None, 0.25, id="leaving 15 minutes early misses a quarter"),
    pytest.param(T9 + timedelta(minutes=30), None, 0.5, id="leaving halfway misses half"),
    pytest.param(T9 - timedelta(minutes=5), None, 1.0, id="leaving before the start misses everything"),
    pytest.param(T9 + timedelta(minutes=90), None, 0.0, id="leaving after the end misses nothing"),
    pytest.param(T9 + timedelta(minutes=45), T9 + timedelta(minutes=15), 0.5, id="a late arrival is missed too"),
])
def test_share_missed_is_the_part_of_the_session_not_attended(departed: datetime, arrived: datetime | None,
                                                              share: float) -> None:
    assert share_missed(T9, T9 + timedelta(minutes=60), departed, arrived) == pytest.approx(share)


def test_share_missed_refuses_a_session_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError):
        share_missed(T9, T9, T9)


@pytest.mark.parametrize(("share", "threshold", "required"), [
    (0.0, 0.25, False), (0.25, 0.25, False), (0.26, 0.25, True), (1.0, 0.25, True), (0.4, 0.5, False),
])
def test_a_catch_up_is_required_above_the_threshold(share: float, threshold: float, required: bool) -> None:
    assert catch_up_required(share, threshold) is required


@pytest.mark.parametrize(("arrived", "grace", "late"), [
    pytest.param(T9 - timedelta(minutes=10), 0, 0, id="early is not late"),
    pytest.param(T9, 0, 0, id="on the minute is not late"),
    pytest.param(T9 + timedelta(seconds=59), 0, 0, id="within the first minute is not late"),
    pytest.param(T9 + timedelta(minutes=1), 0, 1, id="one minute after the start is one minute late"),
    pytest.param(T9 + timedelta(minutes=7, seconds=40), 0, 7, id="minutes are counted as a clock shows them"),
    pytest.param(T9 + timedelta(minutes=5, seconds=59), 5, 0, id="within a 5 minute grace is on time"),
    pytest.param(T9 + timedelta(minutes=6), 5, 6, id="after the grace lateness counts from the start"),
])
def test_minutes_late_counts_from_the_start_after_the_grace(arrived: datetime, grace: int, late: int) -> None:
    assert minutes_late(T9, arrived, grace) == late
