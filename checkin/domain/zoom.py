"""Zoom participant reports: reading both export styles into attendees with merged time segments.

Row numbers in problems are spreadsheet rows of the whole file, counting the meeting block
and blank lines. Rows marked "In waiting room" are not attendance and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from checkin.domain.csvfile import MAX_ROWS, CsvFileError, RowProblem, decode_text, is_blank, read_records
from checkin.domain.import_columns import local_to_utc

Segment = tuple[datetime, datetime]

_NAME_KEYS = ("name_original_name", "participant_name", "name", "user_name", "display_name", "participant")
_EMAIL_KEYS = ("user_email", "participant_email", "email")
_US_TIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?")
_ALIAS = re.compile(r"(.*?)\s*\(([^()]*)\)\s*")


@dataclass(frozen=True, slots=True)
class ZoomAttendee:
    """One participant with their merged time in the meeting; `original_name` is Zoom's bracketed name."""

    name: str
    email: str
    segments: list[Segment]
    total_minutes: float
    original_name: str = ""
    guest: bool = False


@dataclass(frozen=True, slots=True)
class ZoomReport:
    meeting: dict[str, str] | None
    attendees: list[ZoomAttendee]
    problems: list[RowProblem]


def zoom_key(header: str) -> str:
    """'Duration (Minutes)' and 'Duration(minutes)' both become 'duration_minutes'."""
    return re.sub(r"[^a-z0-9]+", "_", header.casefold()).strip("_")


def parse_zoom_time(value: str, tz: ZoneInfo, *, day_first: bool = False) -> datetime | None:
    """A Zoom time as UTC: 'MM/DD/YYYY hh:mm:ss AM' or ISO; local to `tz` unless it has an offset.

    Returns None when the text is no time Zoom writes; raises LookupError for a local time
    the clocks skip.
    """
    value = value.strip()
    found = _US_TIME.fullmatch(value)
    if found is not None:
        first, second, year, hour, minute, sec, half = found.groups()
        month, day = (int(second), int(first)) if day_first else (int(first), int(second))
        clock = int(hour)
        if half is not None:
            if not 1 <= clock <= 12:
                return None
            clock = clock % 12 + (12 if half.casefold() == "pm" else 0)
        try:
            local = datetime(int(year), month, day, clock, int(minute), int(sec or 0))
        except ValueError:
            return None
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}.*", value):
        try:
            local = datetime.fromisoformat(value)
        except ValueError:
            return None
        if local.tzinfo is not None:
            return local.astimezone(UTC)
    else:
        return None
    instant = local_to_utc(local.date(), local.time(), tz)
    if instant is None:
        raise LookupError(value)
    return instant


def merge_segments(segments: Iterable[Segment]) -> list[Segment]:
    """Sorted segments with overlapping or touching ones joined."""
    merged: list[Segment] = []
    for join, leave in sorted(segments):
        if merged and join <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], leave))
        else:
            merged.append((join, leave))
    return merged


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each needed column sits in the participant header."""

    header: list[str]
    name: int
    join: int
    leave: int
    email: int | None
    guest: int | None
    waiting: int | None

    def cell(self, record: list[str], at: int | None) -> str:
        return record[at].strip() if at is not None and at < len(record) else ""

    def title(self, at: int) -> str:
        return self.header[at].strip()


def parse_zoom_report(
    data: bytes, tz: ZoneInfo, *, day_first: bool = False, max_rows: int = MAX_ROWS
) -> ZoomReport:
    """Read a Zoom participant report in either header style, with or without the meeting block."""
    records = [(n, r) for n, r in read_records(decode_text(data)) if not is_blank(r)]
    if not records:
        raise CsvFileError("csv_no_header", "The file is empty.", line=1)
    meeting: dict[str, str] | None = None
    keys = [zoom_key(cell) for cell in records[0][1]]
    if "meeting_id" in keys or "topic" in keys:
        values = records[1][1] if len(records) > 1 else []
        meeting = {k: v.strip() for k, v in zip(keys, values, strict=False) if k}
        records = records[2:]
        if not records:
            raise CsvFileError("csv_no_header", "The report has a meeting block but no participant list.")
    layout = _layout(*records[0])
    if len(records) - 1 > max_rows:
        raise CsvFileError("csv_too_many_rows", f"The report has more than {max_rows} participant rows.")
    problems: list[RowProblem] = []
    people: dict[str, list[tuple[str, str, str, bool, Segment]]] = {}
    for number, record in records[1:]:
        read = _read_row(layout, number, record, tz, day_first, problems)
        if read is not None and layout.cell(record, layout.waiting).casefold() != "yes":
            display, email = read[0], read[1]
            key = email.casefold() if email else "name:" + " ".join(display.casefold().split())
            people.setdefault(key, []).append(read)
    attendees = []
    for rows in people.values():
        display, email, original, guest, _ = rows[0]
        merged = merge_segments(row[4] for row in rows)
        seconds = sum((leave - join).total_seconds() for join, leave in merged)
        attendees.append(ZoomAttendee(display, email, merged, seconds / 60, original, guest))
    return ZoomReport(meeting, attendees, problems)


def _layout(line: int, header: list[str]) -> _Layout:
    where: dict[str, int] = {}
    for at, cell in enumerate(header):
        where.setdefault(zoom_key(cell), at)

    def maybe(*keys: str) -> int | None:
        return next((where[key] for key in keys if key in where), None)

    def need(*keys: str) -> int:
        at = maybe(*keys)
        if at is None:
            found = ", ".join(c.strip() for c in header if c.strip())
            raise CsvFileError("csv_missing_column", f"The participant list has no '{keys[0]}' column "
                               f"(found: {found}).", line=line, column=keys[0])
        return at

    return _Layout(header, need(*_NAME_KEYS), need("join_time"), need("leave_time"), maybe(*_EMAIL_KEYS),
                   maybe("guest"), maybe("in_waiting_room"))


def _read_row(
    layout: _Layout, number: int, record: list[str], tz: ZoneInfo, day_first: bool, problems: list[RowProblem]
) -> tuple[str, str, str, bool, Segment] | None:
    """(name, email, original name, guest, segment) of one row, or None after recording its problems."""
    before = len(problems)
    name, email = layout.cell(record, layout.name), layout.cell(record, layout.email)
    if not name and not email:
        problems.append(RowProblem(number, layout.title(layout.name), "required", "No name or e-mail."))
    join, leave = (_time(layout, at, number, record, tz, day_first, problems)
                   for at in (layout.join, layout.leave))
    if join is not None and leave is not None and leave < join:
        problems.append(RowProblem(number, layout.title(layout.leave), "leave_before_join",
                                   f"Leave time {layout.cell(record, layout.leave)} is before join time "
                                   f"{layout.cell(record, layout.join)}."))
    if len(problems) > before or join is None or leave is None:
        return None
    display, original = _split_alias(name)
    return display, email, original, layout.cell(record, layout.guest).casefold() == "yes", (join, leave)


def _time(
    layout: _Layout, at: int, row: int, record: list[str], tz: ZoneInfo, day_first: bool,
    problems: list[RowProblem],
) -> datetime | None:
    column, value = layout.title(at), layout.cell(record, at)
    if not value:
        problems.append(RowProblem(row, column, "required", f"{column} is empty."))
        return None
    try:
        instant = parse_zoom_time(value, tz, day_first=day_first)
    except LookupError:
        problems.append(RowProblem(row, column, "time_does_not_exist",
                                   f"{column} {value} does not exist in {tz}: the clocks go forward."))
        return None
    if instant is None:
        problems.append(RowProblem(row, column, "invalid_time", f"{column} '{value}' is not a time."))
    return instant


def _split_alias(name: str) -> tuple[str, str]:
    """'Ada L (Ada Lovelace)' is shown as 'Ada L' and was 'Ada Lovelace' when they joined."""
    found = _ALIAS.fullmatch(name)
    if found is None or not found.group(1):
        return name, ""
    return found.group(1), found.group(2).strip()
