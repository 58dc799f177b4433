"""Attendance code sets: the plain adult set and England's 2024 statutory school codes."""

from __future__ import annotations

import json

import pytest

from checkin.domain.codes import (
    CODE_SETS,
    Code,
    CodeSet,
    NoCodeForStatus,
    UnknownCode,
    UnknownCodeSet,
    code_set,
)
from checkin.domain.model import Category, MarkStatus

PRESENT, AUTH, UNAUTH, NOT_POSS = Category.PRESENT, Category.AUTHORISED, Category.UNAUTHORISED, Category.NOT_POSSIBLE
S = MarkStatus

PLAIN_TABLE = [
    ("P", S.PRESENT, PRESENT),
    ("L", S.LATE, PRESENT),
    ("E", S.LEFT_EARLY, PRESENT),
    ("A", S.ABSENT_AUTHORISED, AUTH),
    ("U", S.ABSENT_UNAUTHORISED, UNAUTH),
    ("N", S.NO_CONTACT, UNAUTH),
    ("C", S.CATCH_UP, AUTH),
    ("X", S.NOT_POSSIBLE, NOT_POSS),
]

DFE_2024_TABLE = [
    ("/", S.PRESENT, PRESENT),
    ("\\", S.PRESENT, PRESENT),
    ("L", S.LATE, PRESENT),
    ("K", S.PRESENT, PRESENT),
    ("V", S.PRESENT, PRESENT),
    ("P", S.PRESENT, PRESENT),
    ("W", S.PRESENT, PRESENT),
    ("B", S.PRESENT, PRESENT),
    ("C1", S.ABSENT_AUTHORISED, AUTH),
    ("M", S.ABSENT_AUTHORISED, AUTH),
    ("J1", S.ABSENT_AUTHORISED, AUTH),
    ("S", S.ABSENT_AUTHORISED, AUTH),
    ("C2", S.ABSENT_AUTHORISED, AUTH),
    ("C", S.ABSENT_AUTHORISED, AUTH),
    ("T", S.ABSENT_AUTHORISED, AUTH),
    ("R", S.ABSENT_AUTHORISED, AUTH),
    ("I", S.ABSENT_AUTHORISED, AUTH),
    ("E", S.ABSENT_AUTHORISED, AUTH),
    ("G", S.ABSENT_UNAUTHORISED, UNAUTH),
    ("N", S.NO_CONTACT, UNAUTH),
    ("O", S.ABSENT_UNAUTHORISED, UNAUTH),
    ("U", S.LATE, UNAUTH),
    ("X", S.NOT_POSSIBLE, NOT_POSS),
    ("Q", S.NOT_POSSIBLE, NOT_POSS),
    ("Y1", S.NOT_POSSIBLE, NOT_POSS),
    ("Y2", S.NOT_POSSIBLE, NOT_POSS),
    ("Y3", S.NOT_POSSIBLE, NOT_POSS),
    ("Y4", S.NOT_POSSIBLE, NOT_POSS),
    ("Y5", S.NOT_POSSIBLE, NOT_POSS),
    ("Y6", S.NOT_POSSIBLE, NOT_POSS),
    ("Y7", S.NOT_POSSIBLE, NOT_POSS),
    ("D", S.NOT_POSSIBLE, NOT_POSS),
    ("Z", S.NOT_POSSIBLE, NOT_POSS),
    ("#", S.NOT_POSSIBLE, NOT_POSS),
]


@pytest.mark.parametrize(("code", "status", "category"), PLAIN_TABLE)
def test_each_plain_code_maps_onto_its_status_and_category(code: str, status: MarkStatus,
                                                           category: Category) -> None:
    found = code_set("plain").lookup(code)
    assert (found.status, found.category) == (status, category)


@pytest.mark.parametrize(("code", "status", "category"), DFE_2024_TABLE)
def test_each_2024_school_code_maps_onto_its_status_and_category(code: str, status: MarkStatus,
                                                                 category: Category) -> None:
    found = code_set("dfe_2024").lookup(code)
    assert (found.status, found.category) == (status, category)


@pytest.mark.parametrize(("name", "table"), [("plain", PLAIN_TABLE), ("dfe_2024", DFE_2024_TABLE)])
def test_a_code_set_holds_exactly_the_codes_in_its_table(name: str, table: list[tuple[str, S, Category]]) -> None:
    assert [c.code for c in code_set(name).codes] == [row[0] for row in table]


@pytest.mark.parametrize("retired", ["H", "F", "J", "Y"])
def test_codes_retired_in_august_2024_are_not_in_the_school_set(retired: str) -> None:
    assert retired not in code_set("dfe_2024")


def test_every_school_code_has_a_label_and_a_one_line_description() -> None:
    for c in code_set("dfe_2024").codes:
        assert c.label and c.description.endswith(".") and "\n" not in c.description


def test_every_code_fits_the_eight_character_code_column() -> None:
    assert all(len(c.code) <= 8 for s in CODE_SETS.values() for c in s.codes)


@pytest.mark.parametrize(("name", "status", "late_after_close", "afternoon", "expected"), [
    pytest.param("plain", S.PRESENT, False, False, "P", id="plain present is P"),
    pytest.param("plain", S.LATE, False, False, "L", id="plain late is L"),
    pytest.param("plain", S.LATE, True, False, "L", id="plain has no after-close code so late stays L"),
    pytest.param("plain", S.LEFT_EARLY, False, False, "E", id="plain left early is E"),
    pytest.param("plain", S.ABSENT_AUTHORISED, False, False, "A", id="plain authorised absence is A"),
    pytest.param("plain", S.ABSENT_UNAUTHORISED, False, False, "U", id="plain unauthorised absence is U"),
    pytest.param("plain", S.NO_CONTACT, False, False, "N", id="plain no contact is N"),
    pytest.param("plain", S.CATCH_UP, False, False, "C", id="plain catch-up completed is C"),
    pytest.param("plain", S.NOT_POSSIBLE, False, False, "X", id="plain not expected is X"),
    pytest.param("dfe_2024", S.PRESENT, False, False, "/", id="school present in the morning is slash"),
    pytest.param("dfe_2024", S.PRESENT, False, True, "\\", id="school present in the afternoon is backslash"),
    pytest.param("dfe_2024", S.LATE, False, False, "L", id="school late before the register closed is L"),
    pytest.param("dfe_2024", S.LATE, True, False, "U", id="school late after the register closed is U"),
    pytest.param("dfe_2024", S.LEFT_EARLY, False, False, "/", id="school left early was present at registration"),
    pytest.param("dfe_2024", S.NO_CONTACT, False, False, "N", id="school no contact is N reason not yet provided"),
    pytest.param("dfe_2024", S.ABSENT_UNAUTHORISED, False, False, "O", id="school unauthorised is O"),
    pytest.param("dfe_2024", S.ABSENT_AUTHORISED, False, False, "C", id="school authorised leave is C"),
    pytest.param("dfe_2024", S.NOT_POSSIBLE, False, False, "Y7", id="school not possible is Y7"),
])
def test_default_for_picks_the_code_a_mark_gets_when_nobody_chose_one(
        name: str, status: MarkStatus, late_after_close: bool, afternoon: bool, expected: str) -> None:
    assert code_set(name).default_for(status, late_after_close, afternoon=afternoon).code == expected


def test_a_pupil_late_after_the_register_closed_is_late_but_counts_as_unauthorised_absence() -> None:
    u = code_set("dfe_2024").default_for(S.LATE, late_after_register_closed=True)
    assert (u.status, u.category) == (S.LATE, UNAUTH)


def test_the_school_set_has_no_catch_up_code_and_says_so_with_a_stable_code() -> None:
    with pytest.raises(NoCodeForStatus) as caught:
        code_set("dfe_2024").default_for(S.CATCH_UP)
    assert (caught.value.code, caught.value.status, caught.value.field) == ("no_code_for_status", 422, "status")


def test_an_unknown_code_set_is_a_key_error_with_a_stable_code() -> None:
    with pytest.raises(KeyError) as caught:
        code_set("scottish_2010")
    assert isinstance(caught.value, UnknownCodeSet)
    assert (caught.value.code, caught.value.status) == ("unknown_code_set", 404)
    assert str(caught.value) == "There is no code set called 'scottish_2010'"


def test_an_unknown_code_in_a_set_is_a_key_error_with_a_stable_code() -> None:
    with pytest.raises(UnknownCode) as caught:
        code_set("plain").lookup("Z")
    assert isinstance(caught.value, KeyError)
    assert (caught.value.code, caught.value.field) == ("unknown_code", "code")


def test_get_returns_none_for_a_code_the_set_lacks() -> None:
    assert code_set("plain").get("/") is None


def test_codes_of_a_category_are_listed_in_register_order() -> None:
    present = [c.code for c in code_set("dfe_2024").in_category(PRESENT)]
    assert present == ["/", "\\", "L", "K", "V", "P", "W", "B"]


def test_both_shipped_sets_are_registered_by_name() -> None:
    assert sorted(CODE_SETS) == ["dfe_2024", "plain"]


def test_a_code_set_serialises_to_json_with_every_code() -> None:
    data = json.loads(json.dumps(code_set("dfe_2024").to_dict()))
    assert data["name"] == "dfe_2024"
    assert {"code": "U", "label": "Late after register closed", "status": "late", "category": "unauthorised",
            "description": code_set("dfe_2024").lookup("U").description} in data["codes"]


def test_a_code_set_refuses_a_repeated_code() -> None:
    p = Code("P", "Present", S.PRESENT, PRESENT, "Here.")
    with pytest.raises(ValueError, match="repeats"):
        CodeSet("twice", "Twice", (p, p), {S.PRESENT: "P"})


def test_a_code_set_refuses_a_default_naming_a_missing_code() -> None:
    p = Code("P", "Present", S.PRESENT, PRESENT, "Here.")
    with pytest.raises(ValueError, match="unknown codes"):
        CodeSet("broken", "Broken", (p,), {S.PRESENT: "P", S.LATE: "L"})
