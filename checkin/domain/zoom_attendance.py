"""From a Zoom attendee to a person on the roster and the mark their time in the meeting earns."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from checkin.domain.model import MarkStatus, StrEnum
from checkin.domain.zoom import Segment, ZoomAttendee, merge_segments

FUZZY_RATIO = 0.8


class MatchConfidence(StrEnum):
    EMAIL = "email"
    NAME = "name"
    DOUBTFUL = "doubtful"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Match:
    """Who an attendee is; a doubtful match needs a person to confirm one of `candidates`."""

    attendee: ZoomAttendee
    person_id: int | None
    confidence: MatchConfidence
    candidates: tuple[int, ...] = ()


class ZoomMark(NamedTuple):
    status: MarkStatus
    arrived_at: datetime | None
    departed_at: datetime | None
    minutes_late: int


def normalise_name(name: str) -> str:
    """Accents, case, punctuation and 'Last, First' order removed, for comparing names."""
    if name.count(",") == 1:
        last, first = name.split(",")
        name = f"{first} {last}"
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    plain = re.sub(r"['’]", "", plain.casefold())
    return " ".join(re.sub(r"[^\w]+|_", " ", plain).split())


def match_attendees(attendees: Sequence[ZoomAttendee], roster: Sequence[tuple[int, str, str]]) -> list[Match]:
    """Who each attendee is: by e-mail, then exact name, then a doubtful near name, else nobody.

    `roster` holds (person_id, name, email). A near name is a difflib ratio of at least 0.8,
    or the same last name and first initial ('A Lovelace' for 'Ada Lovelace'). Several people
    sharing the e-mail or the exact name also make a doubtful match, for a person to settle.
    """
    people = [(pid, normalise_name(name), email.strip().casefold()) for pid, name, email in roster]
    return [_match(attendee, people) for attendee in attendees]


def _match(attendee: ZoomAttendee, people: list[tuple[int, str, str]]) -> Match:
    email = attendee.email.strip().casefold()
    names = {n for n in map(normalise_name, (attendee.name, attendee.original_name)) if n}
    for confidence, found in (
        (MatchConfidence.EMAIL, [pid for pid, _, theirs in people if email and theirs == email]),
        (MatchConfidence.NAME, [pid for pid, theirs, _ in people if theirs in names]),
    ):
        if len(found) == 1:
            return Match(attendee, found[0], confidence, tuple(found))
        if found:
            return Match(attendee, None, MatchConfidence.DOUBTFUL, tuple(found))
    scored = sorted(((max(_likeness(n, theirs) for n in names), pid) for pid, theirs, _ in people if names),
                    key=lambda pair: -pair[0])
    near = tuple(pid for score, pid in scored if score >= FUZZY_RATIO)
    if near:
        return Match(attendee, near[0], MatchConfidence.DOUBTFUL, near)
    return Match(attendee, None, MatchConfidence.NONE)


def _likeness(ours: str, theirs: str) -> float:
    """difflib's ratio, counted as a full match for same last name and first initial."""
    a, b = ours.split(), theirs.split()
    if len(a) > 1 and len(b) > 1 and a[-1] == b[-1] and a[0][0] == b[0][0]:
        return 1.0
    return difflib.SequenceMatcher(None, ours, theirs).ratio()


def zoom_mark(
    segments: Sequence[Segment],
    session_start: datetime,
    session_end: datetime,
    min_duration_percent: float = 75,
    grace_minutes: int = 0,
) -> ZoomMark:
    """The mark a Zoom attendance earns.

    Only segments that overlap the session count, and only their part inside it counts
    towards the minimum share. Lateness and early leaving are whole minutes, so a join in the
    first minute after start plus grace is on time; minutes late run from the scheduled start.
    A late arrival who also left early is marked late (the departure time is still returned).
    Absent marks keep the join and leave times so the register shows what happened.
    """
    if session_end <= session_start:
        raise ValueError("session_end must be after session_start")
    inside = [(j, lv) for j, lv in merge_segments(segments) if j < session_end and lv > session_start]
    if not inside:
        return ZoomMark(MarkStatus.ABSENT_UNAUTHORISED, None, None, 0)
    arrived, departed = inside[0][0], inside[-1][1]
    attended = sum((min(lv, session_end) - max(j, session_start)).total_seconds() for j, lv in inside)
    length = (session_end - session_start).total_seconds()
    if attended * 100 < min_duration_percent * length:
        return ZoomMark(MarkStatus.ABSENT_UNAUTHORISED, arrived, departed, 0)
    late = _whole_minutes(arrived - session_start)
    if late > grace_minutes:
        return ZoomMark(MarkStatus.LATE, arrived, departed, late)
    if _whole_minutes(session_end - departed) >= 1:
        return ZoomMark(MarkStatus.LEFT_EARLY, arrived, departed, 0)
    return ZoomMark(MarkStatus.PRESENT, arrived, departed, 0)


def _whole_minutes(span: timedelta) -> int:
    return max(0, int(span.total_seconds() // 60))
