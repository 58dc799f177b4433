"""CSV imports: decoding the file, the documented columns, and every row problem code."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from checkin.domain.csvfile import CsvFileError, decode_csv
from checkin.domain.import_columns import COLUMNS, ImportKind
from checkin.domain.imports import (
    ContactRow,
    ParseResult,
    PersonRow,
    RosterRow,
    SessionRow,
    parse_rows,
    read_import,
)
from checkin.domain.model import Channel, ContactKind, SessionKind, SessionMode

LONDON = ZoneInfo("Europe/London")
PEOPLE_CSV = (
    "first_name,last_name,email,external_ref,ap_pupil,on_school_roll,date_of_birth\n"
    "Priya,Okafor,priya.okafor@example.org,P-001,yes,no,2011-04-02\n"
    "Tomasz,Byrne,,P-002,,,\n"
)


def people(*rows: dict[str, str]) -> ParseResult[PersonRow]:
    return parse_rows(ImportKind.PEOPLE, [{"first_name": "Priya", "last_name": "Okafor", **r} for r in rows],
                      LONDON)


def contact(**cells: str) -> ParseResult[ContactRow]:
    row = {"person_ref": "P-001", "kind": "line_manager", "name": "Dana Reyes", **cells}
    return parse_rows(ImportKind.CONTACTS, [row], LONDON)


def session(**cells: str) -> ParseResult[SessionRow]:
    row = {"external_ref": "S-1", "programme": "AP Maths", "title": "Fractions", "kind": "ap_tuition",
           "mode": "face_to_face", "date": "2026-06-10", "start": "09:00", "end": "10:00", **cells}
    return parse_rows(ImportKind.SESSIONS, [row], LONDON)


def codes(result: ParseResult[Any]) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.code) for p in result.problems]


def rejected(data: bytes, **kwargs: Any) -> CsvFileError:
    with pytest.raises(CsvFileError) as caught:
        decode_csv(data, **kwargs)
    return caught.value


# Decoding the file.

def test_a_file_with_a_bom_reads_the_same_as_one_without():
    plain = read_import(ImportKind.PEOPLE, PEOPLE_CSV.encode(), LONDON)
    with_bom = read_import(ImportKind.PEOPLE, b"\xef\xbb\xbf" + PEOPLE_CSV.encode(), LONDON)
    assert with_bom == plain
    assert [r.external_ref for r in plain.rows] == ["P-001", "P-002"]


def test_latin_1_bytes_are_rejected_naming_the_offset_and_line():
    data = "first_name,last_name\nZoë,Okafor\n".encode("latin-1")
    error = rejected(data)
    assert (error.code, error.line) == ("csv_encoding", 2)
    assert "byte offset 23" in error.message


def test_an_empty_file_has_no_header():
    assert rejected(b"").code == "csv_no_header"
    assert rejected(b"\xef\xbb\xbf\n\n").code == "csv_no_header"


def test_headers_match_whatever_their_case_and_surrounding_spaces():
    table = decode_csv(b" First_Name ,LAST_NAME\nPriya,Okafor\n", required=["first_name", "last_name"])
    assert table.header == ["first_name", "last_name"]
    assert table.rows == [{"first_name": "Priya", "last_name": "Okafor"}]


def test_a_missing_required_column_is_named():
    error = rejected(b"first_name\nPriya\n", required=["first_name", "last_name"])
    assert (error.code, error.column) == ("csv_missing_column", "last_name")


def test_an_unknown_column_is_named():
    error = rejected(b"first_name,nickname\nPriya,P\n", known=["first_name"])
    assert (error.code, error.column) == ("csv_unknown_column", "nickname")


def test_a_column_given_twice_is_named():
    error = rejected(b"first_name,First_Name\nPriya,P\n", known=["first_name"])
    assert (error.code, error.column) == ("csv_duplicate_column", "first_name")


def test_more_rows_than_the_limit_are_refused():
    data = b"first_name\n" + b"Priya\n" * 4
    assert decode_csv(data, max_rows=4).rows[-1] == {"first_name": "Priya"}
    assert rejected(data + b"Tomasz\n", max_rows=4).code == "csv_too_many_rows"


def test_the_limit_applies_to_an_import_file():
    with pytest.raises(CsvFileError) as caught:
        read_import(ImportKind.PEOPLE, PEOPLE_CSV.encode(), LONDON, max_rows=1)
    assert caught.value.code == "csv_too_many_rows"


def test_cells_beyond_the_header_are_refused_unless_empty():
    assert decode_csv(b"first_name,\nPriya,,\n").rows == [{"first_name": "Priya"}]
    error = rejected(b"first_name\nPriya,extra\n")
    assert (error.code, error.line) == ("csv_extra_cells", 2)


def test_a_broken_quote_is_malformed_csv():
    assert rejected(b'first_name\n"Priya" O\n').code == "csv_malformed"


def test_blank_lines_are_skipped_but_still_counted_in_row_numbers():
    table = decode_csv(b"first_name\n\nPriya\n,\nTomasz\n")
    assert table.row_numbers == [3, 5]


def test_a_quoted_cell_may_hold_commas_and_line_breaks():
    table = decode_csv(b'name,location\n"Reyes, Dana","Room 4\nEast wing"\n')
    assert table.rows == [{"name": "Reyes, Dana", "location": "Room 4\nEast wing"}]


def test_a_file_of_only_the_required_columns_is_accepted_for_every_kind():
    for kind, columns in COLUMNS.items():
        header = ",".join(c.name.upper() for c in columns if c.required)
        assert read_import(kind, (header + "\n").encode(), LONDON) == ParseResult(), kind


# People.

def test_people_rows_become_typed_records_with_defaults():
    result = read_import(ImportKind.PEOPLE, PEOPLE_CSV.encode(), LONDON)
    assert result.problems == []
    assert result.rows[0] == PersonRow(2, "Priya", "Okafor", "priya.okafor@example.org", "P-001", True, False,
                                       "", "", date(2011, 4, 2), "", "")
    assert (result.rows[1].ap_pupil, result.rows[1].on_school_roll, result.rows[1].date_of_birth) == (
        False, True, None)


def test_a_blank_required_cell_is_required():
    assert codes(people({"last_name": "  "})) == [(2, "last_name", "required")]


def test_a_boolean_other_than_yes_no_true_false_1_0_is_invalid():
    assert codes(people({"ap_pupil": "maybe"})) == [(2, "ap_pupil", "invalid_boolean")]
    assert people({"ap_pupil": "TRUE"}).rows[0].ap_pupil is True


def test_a_date_not_written_yyyy_mm_dd_is_invalid():
    assert codes(people({"date_of_birth": "02/04/2011"})) == [(2, "date_of_birth", "invalid_date")]
    assert codes(people({"date_of_birth": "2011-02-30"})) == [(2, "date_of_birth", "invalid_date")]


def test_an_email_without_a_domain_is_invalid():
    assert codes(people({"email": "priya.okafor@example"})) == [(2, "email", "invalid_email")]
    assert codes(people({"email": "priya okafor@example.org"})) == [(2, "email", "invalid_email")]


def test_a_value_over_200_characters_is_too_long():
    assert codes(people({"school": "x" * 201})) == [(2, "school", "too_long")]
    assert people({"school": "x" * 200}).problems == []


def test_a_repeated_external_ref_is_a_duplicate_of_the_first_row():
    result = people({"external_ref": "P-001"}, {"external_ref": "p-001"})
    assert codes(result) == [(3, "external_ref", "duplicate")]
    assert "row 2" in result.problems[0].message


def test_a_row_with_a_problem_is_left_out_and_the_others_are_kept():
    result = people({"external_ref": "P-001"}, {"external_ref": "P-002", "ap_pupil": "perhaps"})
    assert [r.external_ref for r in result.rows] == ["P-001"]


def test_every_problem_in_a_row_is_reported():
    result = people({"first_name": "", "email": "nope", "date_of_birth": "soon"})
    assert [c for _, _, c in codes(result)] == ["required", "invalid_email", "invalid_date"]


def test_given_row_numbers_are_used_in_problems():
    result = parse_rows(ImportKind.PEOPLE, [{"first_name": "Priya"}], LONDON, row_numbers=[7])
    assert codes(result) == [(7, "last_name", "required")]


# Contacts.

def test_a_contact_kind_outside_the_list_is_an_invalid_choice():
    assert codes(contact(kind="neighbour")) == [(2, "kind", "invalid_choice")]


def test_choices_ignore_case_spaces_and_hyphens():
    assert contact(kind="Line Manager", email="dana.reyes@example.org").rows[0].kind == ContactKind.LINE_MANAGER


def test_a_contact_with_neither_email_nor_phone_needs_one():
    assert codes(contact()) == [(2, "email", "required")]


def test_an_emergency_contact_needs_a_phone():
    assert codes(contact(kind="emergency", email="dana.reyes@example.org")) == [(2, "phone", "required")]


def test_an_attendance_contact_needs_an_email():
    assert codes(contact(kind="attendance", phone="07700 900123")) == [(2, "email", "required")]


def test_an_employer_contact_needs_an_email():
    assert codes(contact(kind="employer", phone="07700 900123")) == [(2, "email", "required")]


def test_a_phone_with_letters_or_too_few_digits_is_invalid():
    assert codes(contact(kind="emergency", phone="07700 90012x")) == [(2, "phone", "invalid_phone")]
    assert codes(contact(kind="emergency", phone="12345")) == [(2, "phone", "invalid_phone")]


def test_a_contact_defaults_to_phone_when_it_has_no_email():
    row = contact(kind="emergency", phone="+44 (0)7700-900123", relationship="aunt").rows[0]
    assert row == ContactRow(2, "P-001", ContactKind.EMERGENCY, "Dana Reyes", "aunt", "+44 (0)7700-900123", "",
                             "", Channel.PHONE)


def test_a_preferred_channel_needs_its_address():
    assert codes(contact(phone="07700 900123", preferred_channel="email")) == [(2, "email", "required")]


def test_the_same_contact_twice_for_a_person_is_a_duplicate():
    row = {"person_ref": "P-001", "kind": "line_manager", "name": "Dana Reyes", "phone": "07700 900123"}
    result = parse_rows(ImportKind.CONTACTS, [row, {**row, "name": "dana  reyes"}], LONDON)
    assert codes(result) == [(3, "name", "duplicate")]


# Sessions.

def test_a_session_becomes_utc_instants_from_local_summer_time():
    row = session(mandatory="no", tutor_email="tutor.fenwick@example.org").rows[0]
    assert (row.starts_at, row.ends_at) == (datetime(2026, 6, 10, 8, tzinfo=UTC), datetime(2026, 6, 10, 9, tzinfo=UTC))
    assert (row.kind, row.mode, row.mandatory) == (SessionKind.AP_TUITION, SessionMode.FACE_TO_FACE, False)


def test_a_session_mode_written_face_to_face_with_hyphens_is_accepted():
    assert session(mode="Face-to-face").rows[0].mode == SessionMode.FACE_TO_FACE


def test_a_time_not_written_hh_mm_is_invalid():
    assert codes(session(start="9am")) == [(2, "start", "invalid_time")]
    assert codes(session(end="24:00")) == [(2, "end", "invalid_time")]


def test_an_end_not_after_the_start_is_end_before_start():
    assert codes(session(start="10:00", end="09:30")) == [(2, "end", "end_before_start")]
    assert codes(session(start="10:00", end="10:00")) == [(2, "end", "end_before_start")]


def test_a_start_in_the_spring_forward_gap_does_not_exist():
    assert codes(session(date="2026-03-29", start="01:30", end="03:00")) == [(2, "start", "time_does_not_exist")]


def test_a_session_across_the_spring_forward_gap_ends_in_summer_time():
    row = session(date="2026-03-29", start="00:30", end="03:00").rows[0]
    assert (row.starts_at, row.ends_at) == (datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
                                            datetime(2026, 3, 29, 2, tzinfo=UTC))


def test_an_ambiguous_autumn_time_takes_its_first_occurrence():
    row = session(date="2026-10-25", start="01:30", end="03:00").rows[0]
    assert row.starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_session_kind_outside_the_list_is_an_invalid_choice():
    assert codes(session(kind="party")) == [(2, "kind", "invalid_choice")]


def test_an_element_longer_than_its_column_is_too_long():
    assert codes(session(element="e" * 61)) == [(2, "element", "too_long")]


def test_a_repeated_session_ref_is_a_duplicate():
    row = {"external_ref": "S-1", "programme": "AP Maths", "title": "Fractions", "kind": "ap_tuition",
           "mode": "remote", "date": "2026-06-10", "start": "09:00", "end": "10:00"}
    assert codes(parse_rows(ImportKind.SESSIONS, [row, row], LONDON)) == [(3, "external_ref", "duplicate")]


# Rosters.

def test_roster_rows_pair_a_session_with_a_person():
    data = b"Session_Ref,Person_Ref\nS-1,P-001\nS-1,priya.okafor@example.org\n"
    assert read_import(ImportKind.ROSTERS, data, LONDON).rows == [
        RosterRow(2, "S-1", "P-001"), RosterRow(3, "S-1", "priya.okafor@example.org")]


def test_the_same_person_twice_on_a_session_is_a_duplicate():
    data = b"session_ref,person_ref\nS-1,P-001\n\nS-1,p-001\n"
    assert codes(read_import(ImportKind.ROSTERS, data, LONDON)) == [(4, "person_ref", "duplicate")]
