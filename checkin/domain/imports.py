"""Import files for people, contacts, sessions and rosters: typed rows and the checks on each row.

Parsing is all-or-nothing per file: `ParseResult.rows` holds only the valid rows and the
service writes nothing when `problems` is not empty. Row numbers are spreadsheet rows
(header = row 1, first data row = row 2). Repeats within a file (external_ref, the same
contact for a person, the same roster pair) are found ignoring case and reported on the
later row as "duplicate". References to other files or to the database
(programme names, person and session refs, tutor e-mails) are left to the service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar, overload
from zoneinfo import ZoneInfo

from checkin.domain.csvfile import MAX_ROWS, RowProblem, decode_csv
from checkin.domain.import_columns import COLUMNS, ImportKind, RowReader, local_to_utc
from checkin.domain.model import Channel, ContactKind, SessionKind, SessionMode

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PersonRow:
    row: int
    first_name: str
    last_name: str
    email: str
    external_ref: str
    ap_pupil: bool
    on_school_roll: bool
    school: str
    employer: str
    date_of_birth: date | None
    programme: str
    cohort: str


@dataclass(frozen=True, slots=True)
class ContactRow:
    row: int
    person_ref: str
    kind: ContactKind
    name: str
    relationship: str
    phone: str
    email: str
    organisation: str
    preferred_channel: Channel


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session with its local date and times already turned into UTC instants."""

    row: int
    external_ref: str
    programme: str
    title: str
    kind: SessionKind
    mode: SessionMode
    starts_at: datetime
    ends_at: datetime
    element: str
    location: str
    tutor_email: str
    mandatory: bool
    cohort: str


@dataclass(frozen=True, slots=True)
class RosterRow:
    row: int
    session_ref: str
    person_ref: str


@dataclass(slots=True)
class ParseResult(Generic[T]):
    rows: list[T] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


ImportRow = PersonRow | ContactRow | SessionRow | RosterRow


def _person(r: RowReader, tz: ZoneInfo) -> PersonRow | None:
    row = PersonRow(
        r.row, r.text("first_name") or "", r.text("last_name") or "", r.email("email"),
        r.text("external_ref") or "", r.boolean("ap_pupil", False), r.boolean("on_school_roll", True),
        r.text("school") or "", r.text("employer") or "", r.date("date_of_birth"),
        r.text("programme") or "", r.text("cohort") or "",
    )
    return row if r.ok else None


def _contact(r: RowReader, tz: ZoneInfo) -> ContactRow | None:
    person_ref, kind, name = r.text("person_ref"), r.choice("kind", ContactKind), r.text("name")
    relationship, phone, email = r.text("relationship"), r.phone("phone"), r.email("email")
    organisation = r.text("organisation")
    chosen = r.choice("preferred_channel", Channel)
    if not r.ok or kind is None:
        return None
    if kind == ContactKind.EMERGENCY and not phone:
        r.problem("phone", "required", "An emergency contact needs a phone number.")
    elif kind in (ContactKind.ATTENDANCE, ContactKind.EMPLOYER) and not email:
        r.problem("email", "required", f"An {kind.value} contact needs an e-mail address.")
    elif not email and not phone:
        r.problem("email", "required", "A contact needs an e-mail address or a phone number.")
    elif chosen == Channel.EMAIL and not email:
        r.problem("email", "required", "preferred_channel is email but no e-mail address is given.")
    elif chosen == Channel.PHONE and not phone:
        r.problem("phone", "required", "preferred_channel is phone but no phone number is given.")
    channel = chosen or (Channel.EMAIL if email else Channel.PHONE)
    if not r.ok:
        return None
    return ContactRow(r.row, person_ref or "", kind, name or "", relationship or "", phone, email,
                      organisation or "", channel)


def _session(r: RowReader, tz: ZoneInfo) -> SessionRow | None:
    ref, programme, title = r.text("external_ref"), r.text("programme"), r.text("title")
    kind, mode = r.choice("kind", SessionKind), r.choice("mode", SessionMode)
    day, start, end = r.date("date"), r.time("start"), r.time("end")
    element, location, tutor = r.text("element"), r.text("location"), r.email("tutor_email")
    mandatory, cohort = r.boolean("mandatory", True), r.text("cohort")
    if day is None or start is None or end is None:
        return None
    starts_at, ends_at = local_to_utc(day, start, tz), local_to_utc(day, end, tz)
    for name, instant, at in (("start", starts_at, start), ("end", ends_at, end)):
        if instant is None:
            r.problem(name, "time_does_not_exist",
                      f"{name} {at:%H:%M} does not exist on {day} in {tz}: the clocks go forward.")
    if end <= start:
        r.problem("end", "end_before_start", f"end {end:%H:%M} must be later than start {start:%H:%M}.")
    if not r.ok or kind is None or mode is None or starts_at is None or ends_at is None:
        return None
    return SessionRow(r.row, ref or "", programme or "", title or "", kind, mode, starts_at, ends_at,
                      element or "", location or "", tutor, mandatory, cohort or "")


def _roster(r: RowReader, tz: ZoneInfo) -> RosterRow | None:
    row = RosterRow(r.row, r.text("session_ref") or "", r.text("person_ref") or "")
    return row if r.ok else None


def _unique_key(row: ImportRow) -> tuple[str, str] | None:
    """The column and value that must not repeat within one file, if any."""
    if isinstance(row, PersonRow | SessionRow) and row.external_ref:
        return "external_ref", row.external_ref.casefold()
    if isinstance(row, ContactRow):
        return "name", f"{row.person_ref.casefold()}\0{row.kind}\0{' '.join(row.name.casefold().split())}"
    if isinstance(row, RosterRow):
        return "person_ref", f"{row.session_ref.casefold()}\0{row.person_ref.casefold()}"
    return None


_PARSERS: Mapping[ImportKind, Callable[[RowReader, ZoneInfo], ImportRow | None]] = {
    ImportKind.PEOPLE: _person,
    ImportKind.CONTACTS: _contact,
    ImportKind.SESSIONS: _session,
    ImportKind.ROSTERS: _roster,
}


Rows = Sequence[Mapping[str, str]]
Numbers = Sequence[int] | None


@overload
def parse_rows(kind: Literal[ImportKind.PEOPLE], rows: Rows, tz: ZoneInfo, row_numbers: Numbers = None
               ) -> ParseResult[PersonRow]: ...
@overload
def parse_rows(kind: Literal[ImportKind.CONTACTS], rows: Rows, tz: ZoneInfo, row_numbers: Numbers = None
               ) -> ParseResult[ContactRow]: ...
@overload
def parse_rows(kind: Literal[ImportKind.SESSIONS], rows: Rows, tz: ZoneInfo, row_numbers: Numbers = None
               ) -> ParseResult[SessionRow]: ...
@overload
def parse_rows(kind: Literal[ImportKind.ROSTERS], rows: Rows, tz: ZoneInfo, row_numbers: Numbers = None
               ) -> ParseResult[RosterRow]: ...
@overload
def parse_rows(kind: ImportKind, rows: Rows, tz: ZoneInfo, row_numbers: Numbers = None
               ) -> ParseResult[ImportRow]: ...
def parse_rows(kind: ImportKind, rows: Rows, tz: ZoneInfo, row_numbers: Numbers = None) -> ParseResult[Any]:
    """Check every row of one file; rows are numbered 2, 3, ... unless `row_numbers` is given."""
    columns = {column.name: column for column in COLUMNS[kind]}
    numbers = list(row_numbers) if row_numbers is not None else list(range(2, len(rows) + 2))
    result: ParseResult[ImportRow] = ParseResult()
    seen: dict[tuple[str, str], int] = {}
    for number, cells in zip(numbers, rows, strict=True):
        reader = RowReader(number, cells, columns, result.problems)
        parsed = _PARSERS[kind](reader, tz)
        key = _unique_key(parsed) if parsed is not None else None
        if key is not None and key in seen:
            reader.problem(key[0], "duplicate", f"This row repeats row {seen[key]} ({key[0]}).")
            continue
        if key is not None:
            seen[key] = number
        if parsed is not None:
            result.rows.append(parsed)
    return result


@overload
def read_import(kind: Literal[ImportKind.PEOPLE], data: bytes, tz: ZoneInfo, *, max_rows: int = MAX_ROWS
                ) -> ParseResult[PersonRow]: ...
@overload
def read_import(kind: Literal[ImportKind.CONTACTS], data: bytes, tz: ZoneInfo, *, max_rows: int = MAX_ROWS
                ) -> ParseResult[ContactRow]: ...
@overload
def read_import(kind: Literal[ImportKind.SESSIONS], data: bytes, tz: ZoneInfo, *, max_rows: int = MAX_ROWS
                ) -> ParseResult[SessionRow]: ...
@overload
def read_import(kind: Literal[ImportKind.ROSTERS], data: bytes, tz: ZoneInfo, *, max_rows: int = MAX_ROWS
                ) -> ParseResult[RosterRow]: ...
@overload
def read_import(kind: ImportKind, data: bytes, tz: ZoneInfo, *, max_rows: int = MAX_ROWS
                ) -> ParseResult[ImportRow]: ...
def read_import(kind: ImportKind, data: bytes, tz: ZoneInfo, *, max_rows: int = MAX_ROWS) -> ParseResult[Any]:
    """Decode and check one uploaded file; file-level faults raise `CsvFileError`."""
    columns = COLUMNS[kind]
    table = decode_csv(
        data,
        required=[c.name for c in columns if c.required],
        known=[c.name for c in columns],
        max_rows=max_rows,
    )
    return parse_rows(kind, table.rows, tz, table.row_numbers)
