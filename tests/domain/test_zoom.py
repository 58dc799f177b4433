"""Zoom participant reports: both header styles, merged segments, matching people, and marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from checkin.domain.csvfile import CsvFileError
from checkin.domain.model import MarkStatus
from checkin.domain.zoom import ZoomAttendee, ZoomReport, merge_segments, parse_zoom_report, parse_zoom_time
from checkin.domain.zoom_attendance import MatchConfidence, match_attendees, normalise_name, zoom_mark

LONDON = ZoneInfo("Europe/London")
FIXTURES = Path(__file__).parent / "fixtures"
# 2026-06-10 is in British Summer Time, so local 09:00 is 08:00 UTC.
START = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
END = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
ROSTER = [
    (1, "Priya Okafor", "priya.okafor@example.org"),
    (2, "Tomasz Byrne", "tomasz.b@example.org"),
    (3, "John Whitfield", ""),
    (4, "Alessia Marchetti", "alessia.m@example.org"),
    (5, "Siân Llewelyn Ward", ""),
]


def utc(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 6, 10, hour, minute, second, tzinfo=UTC)


def report(name: str) -> ZoomReport:
    return parse_zoom_report((FIXTURES / name).read_bytes(), LONDON)


def attendee(found: ZoomReport, name: str) -> ZoomAttendee:
    return next(a for a in found.attendees if a.name == name)


def confidence_of(found: ZoomReport, name: str) -> tuple[MatchConfidence, int | None]:
    match = next(m for m in match_attendees(found.attendees, ROSTER) if m.attendee.name == name)
    return match.confidence, match.person_id


# Meeting style: meeting block on top, "Name (Original Name)" header, US times, BOM.

def test_a_meeting_style_report_keeps_its_meeting_block():
    found = report("zoom_meeting_style.csv")
    assert found.meeting is not None
    assert found.meeting["topic"] == "Year 10 Maths, remote group"
    assert found.meeting["meeting_id"] == "812 3456 7890"


def test_a_meeting_style_report_has_one_attendee_per_person_and_no_problems():
    found = report("zoom_meeting_style.csv")
    assert found.problems == []
    assert [a.name for a in found.attendees] == [
        "Fenwick Tutor", "Priya Okafor", "Tom B", "Zed Quill", "Jon Whitfeld"]


def test_a_participant_who_dropped_and_rejoined_has_merged_segments_and_the_right_total():
    priya = attendee(report("zoom_meeting_style.csv"), "Priya Okafor")
    assert priya.segments == [(utc(7, 58), utc(8, 20)), (utc(8, 23), utc(9, 0, 30))]
    assert priya.total_minutes == 59.5


def test_a_renamed_participant_keeps_the_name_they_joined_with():
    tom = attendee(report("zoom_meeting_style.csv"), "Tom B")
    assert tom.original_name == "Tomasz Byrne"
    assert tom.guest is True


def test_meeting_style_times_are_read_as_local_time_in_the_organisation_zone():
    zed = attendee(report("zoom_meeting_style.csv"), "Zed Quill")
    assert zed.segments == [(utc(8, 0), utc(8, 30))]


def test_a_meeting_style_participant_list_without_the_meeting_block_is_read():
    data = (FIXTURES / "zoom_meeting_style.csv").read_bytes().split(b"\r\n", 3)[3]
    found = parse_zoom_report(data, LONDON)
    assert found.meeting is None
    assert found.problems == []
    assert attendee(found, "Priya Okafor").total_minutes == 59.5


# Participant style: "Participant Name" header, ISO times, extra columns, no BOM.

def test_a_participant_style_report_is_read_without_a_meeting_block():
    found = report("zoom_participant_style.csv")
    assert found.meeting is None
    assert found.problems == []
    assert [a.name for a in found.attendees] == [
        "Priya Okafor", "Siân Llewelyn-Ward", "A Marchetti", "Kitchen iPad"]


def test_adjacent_segments_are_merged_and_time_in_the_waiting_room_does_not_count():
    priya = attendee(report("zoom_participant_style.csv"), "Priya Okafor")
    assert priya.segments == [(utc(7, 58), utc(8, 45)), (utc(8, 51), utc(9, 0))]
    assert priya.total_minutes == 56


def test_a_participant_style_report_with_a_bom_and_a_meeting_block_is_read():
    data = (
        "\ufeffTopic,ID,Host,Duration (minutes),Start time,End time,Participants\n"
        "Coaching clinic,81234567890,Fenwick Tutor,60,2026-06-10 09:00:00,2026-06-10 10:00:00,1\n"
        "\n"
        "Participant Name,Participant Email,Join time,Leave time,Duration(minutes)\n"
        "Priya Okafor,priya.okafor@example.org,2026-06-10 09:00:00,2026-06-10 10:00:00,60\n"
    ).encode()
    found = parse_zoom_report(data, LONDON)
    assert found.meeting is not None and found.meeting["topic"] == "Coaching clinic"
    assert found.attendees[0].segments == [(utc(8, 0), utc(9, 0))]


def test_a_time_with_an_offset_is_not_shifted_by_the_organisation_zone():
    assert parse_zoom_time("2026-06-10T09:00:00+00:00", LONDON) == utc(9, 0)
    assert parse_zoom_time("2026-06-10 09:00:00", LONDON) == utc(8, 0)


def test_twelve_am_and_twelve_pm_are_midnight_and_noon():
    assert parse_zoom_time("06/10/2026 12:05:00 AM", LONDON) == datetime(2026, 6, 9, 23, 5, tzinfo=UTC)
    assert parse_zoom_time("06/10/2026 12:05:00 PM", LONDON) == utc(11, 5)


def test_day_first_reads_uk_style_dates():
    assert parse_zoom_time("10/06/2026 09:00:00", LONDON, day_first=True) == utc(8, 0)


# Malformed rows: reported with the spreadsheet row number and a code.

def test_an_unparseable_join_time_is_reported_with_its_row_and_code():
    found = report("zoom_malformed.csv")
    assert (4, "Join time", "invalid_time") in [(p.row, p.column, p.code) for p in found.problems]


def test_a_leave_before_the_join_is_reported_with_its_row_and_code():
    found = report("zoom_malformed.csv")
    assert (5, "Leave time", "leave_before_join") in [(p.row, p.column, p.code) for p in found.problems]


def test_an_empty_join_time_is_reported_as_required():
    found = report("zoom_malformed.csv")
    assert (6, "Join time", "required") in [(p.row, p.column, p.code) for p in found.problems]


def test_only_the_well_formed_rows_become_attendees():
    found = report("zoom_malformed.csv")
    assert len(found.problems) == 3
    assert [a.name for a in found.attendees] == ["Priya Okafor"]


def test_a_participant_list_without_a_leave_time_column_is_rejected():
    data = b"Participant Name,Join time\nPriya Okafor,2026-06-10 09:00:00\n"
    with pytest.raises(CsvFileError) as caught:
        parse_zoom_report(data, LONDON)
    assert caught.value.code == "csv_missing_column"
    assert caught.value.column == "leave_time"


def test_a_latin_1_zoom_report_is_rejected_as_not_utf_8():
    data = "Participant Name,Join time,Leave time\nSiân,2026-06-10 09:00:00,2026-06-10 10:00:00\n"
    with pytest.raises(CsvFileError) as caught:
        parse_zoom_report(data.encode("latin-1"), LONDON)
    assert caught.value.code == "csv_encoding"
    assert caught.value.line == 2


def test_an_empty_zoom_report_has_no_header():
    with pytest.raises(CsvFileError) as caught:
        parse_zoom_report(b"\xef\xbb\xbf\r\n\r\n", LONDON)
    assert caught.value.code == "csv_no_header"


# Matching attendees to the roster.

def test_an_attendee_is_matched_by_email_whatever_its_case():
    assert confidence_of(report("zoom_meeting_style.csv"), "Priya Okafor") == (MatchConfidence.EMAIL, 1)


def test_a_renamed_attendee_is_matched_by_the_exact_name_they_joined_with():
    assert confidence_of(report("zoom_meeting_style.csv"), "Tom B") == (MatchConfidence.NAME, 2)


def test_a_misspelt_name_is_a_doubtful_match_for_review():
    assert confidence_of(report("zoom_meeting_style.csv"), "Jon Whitfeld") == (MatchConfidence.DOUBTFUL, 3)


def test_a_guest_who_matches_nobody_has_no_person():
    assert confidence_of(report("zoom_meeting_style.csv"), "Zed Quill") == (MatchConfidence.NONE, None)


def test_accents_hyphens_and_case_do_not_stop_an_exact_name_match():
    assert confidence_of(report("zoom_participant_style.csv"), "Siân Llewelyn-Ward") == (MatchConfidence.NAME, 5)


def test_a_first_initial_and_the_same_last_name_is_a_doubtful_match():
    assert confidence_of(report("zoom_participant_style.csv"), "A Marchetti") == (MatchConfidence.DOUBTFUL, 4)


def test_a_device_name_matches_nobody():
    assert confidence_of(report("zoom_participant_style.csv"), "Kitchen iPad") == (MatchConfidence.NONE, None)


def test_two_roster_people_with_the_same_name_make_a_doubtful_match_with_both_candidates():
    guest = ZoomAttendee("Sam Patel", "", [], 0)
    match = match_attendees([guest], [(7, "Sam Patel", ""), (8, "sam patel", "")])[0]
    assert (match.confidence, match.person_id, match.candidates) == (MatchConfidence.DOUBTFUL, None, (7, 8))


def test_last_name_first_is_read_as_the_same_name():
    assert normalise_name("Okafor, Priya") == normalise_name("priya okafor")


# The mark a Zoom attendance earns (session 09:00 to 10:00 local, 08:00 to 09:00 UTC).

def test_a_dropped_and_rejoined_participant_above_the_minimum_is_present():
    priya = attendee(report("zoom_meeting_style.csv"), "Priya Okafor")
    assert zoom_mark(priya.segments, START, END) == (MarkStatus.PRESENT, utc(7, 58), utc(9, 0, 30), 0)


def test_a_first_join_after_the_start_is_late_with_the_minutes_late():
    tom = attendee(report("zoom_meeting_style.csv"), "Tom B")
    assert zoom_mark(tom.segments, START, END) == (MarkStatus.LATE, utc(8, 7), utc(9, 0), 7)


def test_a_join_within_the_first_minute_is_on_time():
    assert zoom_mark([(utc(8, 0, 40), utc(9, 0))], START, END).status == MarkStatus.PRESENT


def test_a_join_within_the_grace_minutes_is_on_time():
    assert zoom_mark([(utc(8, 4), utc(9, 0))], START, END, grace_minutes=5).status == MarkStatus.PRESENT


def test_a_join_after_the_grace_minutes_is_late_counted_from_the_start():
    assert zoom_mark([(utc(8, 6), utc(9, 0))], START, END, grace_minutes=5) == (
        MarkStatus.LATE, utc(8, 6), utc(9, 0), 6)


def test_a_last_leave_before_the_end_above_the_minimum_is_left_early():
    assert zoom_mark([(utc(8, 0), utc(8, 50))], START, END) == (
        MarkStatus.LEFT_EARLY, utc(8, 0), utc(8, 50), 0)


def test_exactly_the_minimum_share_is_enough():
    assert zoom_mark([(utc(8, 0), utc(8, 45))], START, END).status == MarkStatus.LEFT_EARLY


def test_attendance_below_the_minimum_is_an_unauthorised_absence():
    assert zoom_mark([(utc(8, 0), utc(8, 44, 59))], START, END).status == MarkStatus.ABSENT_UNAUTHORISED


def test_a_gap_in_the_middle_counts_against_the_minimum():
    segments = [(utc(8, 0), utc(8, 20)), (utc(8, 40), utc(9, 0))]
    assert zoom_mark(segments, START, END).status == MarkStatus.ABSENT_UNAUTHORISED
    assert zoom_mark(segments, START, END, min_duration_percent=60).status == MarkStatus.PRESENT


def test_time_before_the_start_does_not_count_towards_the_minimum():
    mark = zoom_mark([(utc(7, 0), utc(8, 30))], START, END)
    assert (mark.status, mark.arrived_at) == (MarkStatus.ABSENT_UNAUTHORISED, utc(7, 0))


def test_no_time_in_the_session_is_an_absence_without_arrival():
    mark = zoom_mark([(utc(6, 0), utc(7, 0))], START, END)
    assert mark == (MarkStatus.ABSENT_UNAUTHORISED, None, None, 0)


def test_a_late_arrival_who_also_left_early_is_marked_late_with_the_departure_kept():
    assert zoom_mark([(utc(8, 5), utc(8, 55))], START, END) == (MarkStatus.LATE, utc(8, 5), utc(8, 55), 5)


def test_a_session_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        zoom_mark([], END, START)


def test_overlapping_segments_from_two_devices_merge_into_one():
    first, second = (utc(8, 0), utc(8, 30)), (utc(8, 10), utc(8, 50))
    assert merge_segments([second, first]) == [(utc(8, 0), utc(8, 50))]
    assert merge_segments([(utc(8, 0), utc(8, 10)), (utc(8, 10) + timedelta(seconds=1), utc(8, 20))]) == [
        (utc(8, 0), utc(8, 10)), (utc(8, 10, 1), utc(8, 20))]
