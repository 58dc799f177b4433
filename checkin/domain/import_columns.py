"""The documented columns of each import file, and the checks on single cells."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import TypeVar
from zoneinfo import ZoneInfo

from checkin.domain.csvfile import RowProblem
from checkin.domain.model import Channel, ContactKind, SessionKind, SessionMode, StrEnum

E = TypeVar("E", bound=Enum)

MAX_LENGTH = 200
TRUE_WORDS = frozenset({"yes", "true", "1"})
FALSE_WORDS = frozenset({"no", "false", "0"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")


@dataclass(frozen=True, slots=True)
class Column:
    """One documented column of an import file (listed in the README and the OpenAPI document)."""

    name: str
    description: str
    required: bool = False
    max_length: int = MAX_LENGTH
    choices: tuple[str, ...] = ()


class ImportKind(StrEnum):
    PEOPLE = "people"
    CONTACTS = "contacts"
    SESSIONS = "sessions"
    ROSTERS = "rosters"


def _choices(kind: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in kind)


_YES_NO = ("yes", "no", "true", "false", "1", "0")

COLUMNS: Mapping[ImportKind, tuple[Column, ...]] = {
    ImportKind.PEOPLE: (
        Column("first_name", "Given name.", required=True),
        Column("last_name", "Family name.", required=True),
        Column("email", "The person's own e-mail address; other files may refer to the person by it."),
        Column("external_ref", "Your unique reference for the person within the organisation; "
               "other files refer to the person by it.", max_length=100),
        Column("ap_pupil", "Whether the person is an alternative provision pupil (default no).",
               choices=_YES_NO),
        Column("on_school_roll", "Whether the pupil is on a school roll (default yes).", choices=_YES_NO),
        Column("school", "School name."),
        Column("employer", "Employer name."),
        Column("date_of_birth", "Date of birth, YYYY-MM-DD."),
        Column("programme", "Name of a programme to enrol the person on (optional)."),
        Column("cohort", "Cohort name within that programme (optional)."),
    ),
    ImportKind.CONTACTS: (
        Column("person_ref", "The person's external_ref or e-mail address.", required=True),
        Column("kind", "Kind of contact.", required=True, choices=_choices(ContactKind)),
        Column("name", "Contact's name.", required=True),
        Column("relationship", "Relationship to the person (e.g. parent).", max_length=100),
        Column("phone", "Phone number; required for emergency contacts.", max_length=40),
        Column("email", "E-mail address; required for attendance and employer contacts."),
        Column("organisation", "Organisation the contact works for."),
        Column("preferred_channel", "How to reach the contact (default email if an e-mail is given, "
               "otherwise phone).", choices=_choices(Channel)),
    ),
    ImportKind.SESSIONS: (
        Column("external_ref", "Your unique reference for the session; rosters refer to it.",
               required=True, max_length=100),
        Column("programme", "Name of the programme the session belongs to.", required=True),
        Column("title", "Session title.", required=True),
        Column("kind", "Kind of session.", required=True, choices=_choices(SessionKind)),
        Column("mode", "Face to face or remote.", required=True, choices=_choices(SessionMode)),
        Column("date", "Date of the session, YYYY-MM-DD.", required=True),
        Column("start", "Local start time, HH:MM (24-hour).", required=True),
        Column("end", "Local end time, HH:MM (24-hour), later than start on the same day.", required=True),
        Column("element", "Programme element the session counts towards.", max_length=60),
        Column("location", "Where the session takes place."),
        Column("tutor_email", "E-mail address of the tutor's staff account."),
        Column("mandatory", "Whether attendance is mandatory (default yes).", choices=_YES_NO),
        Column("cohort", "Cohort name within the programme."),
    ),
    ImportKind.ROSTERS: (
        Column("session_ref", "The session's external_ref.", required=True, max_length=100),
        Column("person_ref", "The person's external_ref or e-mail address.", required=True),
    ),
}


def choice_key(value: str) -> str:
    """How choices are compared: 'Face-to-face', 'face to face' and 'face_to_face' are the same."""
    return re.sub(r"[\s\-_]+", "_", value.strip().casefold())


def is_email(value: str) -> bool:
    return _EMAIL.fullmatch(value) is not None and ".." not in value


def is_phone(value: str) -> bool:
    """An optional leading + then 7 to 15 digits, allowing spaces, hyphens, dots and brackets."""
    digits = _PHONE_PUNCTUATION.sub("", value)
    digits = digits.removeprefix("+")
    return digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 15


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall time, or None when the clocks skip it.

    An autumn time that happens twice is taken at its first occurrence (fold=0, summer
    time), which is when a session booked for that time would have been meant to start.
    """
    local = datetime.combine(day, at.replace(fold=0), tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


class RowReader:
    """Reads typed values from one data row, recording a problem per invalid cell."""

    def __init__(
        self, row: int, cells: Mapping[str, str], columns: Mapping[str, Column], problems: list[RowProblem]
    ) -> None:
        self.row = row
        self._cells = cells
        self._columns = columns
        self._problems = problems
        self._before = len(problems)

    @property
    def ok(self) -> bool:
        """Whether this row has produced no problem so far."""
        return len(self._problems) == self._before

    def problem(self, column: str, code: str, message: str) -> None:
        self._problems.append(RowProblem(self.row, column, code, message))

    def text(self, name: str) -> str | None:
        """The stripped cell; "" when blank and optional; None when it already has a problem."""
        column = self._columns[name]
        value = self._cells.get(name, "").strip()
        if len(value) > column.max_length:
            self.problem(name, "too_long", f"{name} is {len(value)} characters long; at most "
                         f"{column.max_length} are allowed.")
            return None
        if not value and column.required:
            self.problem(name, "required", f"{name} is required.")
            return None
        return value

    def choice(self, name: str, kind: type[E], default: E | None = None) -> E | None:
        value = self.text(name)
        if not value:
            return default
        by_key = {choice_key(str(member.value)): member for member in kind}
        member = by_key.get(choice_key(value))
        if member is None:
            allowed = ", ".join(str(m.value) for m in kind)
            self.problem(name, "invalid_choice", f"{name} '{value}' is not one of: {allowed}.")
        return member

    def boolean(self, name: str, default: bool) -> bool:
        value = self.text(name)
        if not value:
            return default
        word = value.casefold()
        if word in TRUE_WORDS:
            return True
        if word not in FALSE_WORDS:
            self.problem(name, "invalid_boolean", f"{name} '{value}' must be yes/no, true/false or 1/0.")
        return False

    def date(self, name: str) -> date | None:
        value = self.text(name)
        if not value:
            return None
        try:
            if _DATE.fullmatch(value):
                return date.fromisoformat(value)
        except ValueError:
            pass
        self.problem(name, "invalid_date", f"{name} '{value}' is not a date written YYYY-MM-DD.")
        return None

    def time(self, name: str) -> time | None:
        """HH:MM (H:MM and HH:MM:SS are accepted too), 24-hour clock."""
        value = self.text(name)
        if not value:
            return None
        found = _TIME.fullmatch(value)
        if found is not None:
            hour, minute, second = (int(part or 0) for part in found.groups())
            if hour < 24 and minute < 60 and second < 60:
                return time(hour, minute, second)
        self.problem(name, "invalid_time", f"{name} '{value}' is not a 24-hour time written HH:MM.")
        return None

    def email(self, name: str) -> str:
        value = self.text(name)
        if value and not is_email(value):
            self.problem(name, "invalid_email", f"{name} '{value}' is not an e-mail address.")
        return value or ""

    def phone(self, name: str) -> str:
        value = self.text(name)
        if value and not is_phone(value):
            self.problem(name, "invalid_phone", f"{name} '{value}' is not a phone number (7 to 15 digits).")
        return " ".join((value or "").split())
