"""Scan codes: the rotating code a display shows, the printed poster code, and checking one that comes back."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Invalid
from checkin.domain.model import SessionInfo, SessionKind, SessionMode, SessionStatus
from checkin.domain.tokens import (
    PURPOSE_SCAN,
    ScanToken,
    TokenRejection,
    derive_key,
    issue_poster,
    issue_rotating,
    rotation_window,
    verify_scan_token,
)
from checkin.services.marking import find_session_row, session_policy
from checkin.storage.prepared import Derived

Direction = Literal["in", "out"]
OPENS_MINUTES_BEFORE = 60
ROTATING_GRACE_S = 10  # a phone needs a few seconds from reading the screen to sending the code


@dataclass(frozen=True)
class SessionFacts:
    """What check-in needs to know about a session and its programme."""

    info: SessionInfo
    org_id: int
    zone: ZoneInfo
    grace_minutes: int
    rotation_s: int
    location: str
    row: Any  # the row it was made from (marking.find_session_row), current in the transaction that read it

    def day(self, now: datetime) -> date:
        """The local day a code is bound to."""
        return now.astimezone(self.zone).date()

    @property
    def multi_day(self) -> bool:
        last = max(self.info.ends_at - timedelta(microseconds=1), self.info.starts_at)
        return self.day(self.info.starts_at) != self.day(last)

    @property
    def opens_at(self) -> datetime:
        return self.info.starts_at - timedelta(minutes=OPENS_MINUTES_BEFORE)


@dataclass(frozen=True)
class ScanCode:
    """A code to show or print: the token, the URL it opens, and when it is valid (without grace)."""

    kind: Literal["rotating", "poster"]
    token: str
    url: str
    day: date
    valid_from: datetime
    valid_until: datetime

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "token": self.token, "url": self.url, "day": self.day.isoformat(),
                "valid_from": self.valid_from.isoformat(), "valid_until": self.valid_until.isoformat()}


def scan_key(ctx: AppContext) -> bytes:
    return derive_key(ctx.secret, PURPOSE_SCAN)


def _zone(name: str, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def _enum(kind: Any, value: str, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return default


async def load_session(conn: AsyncConnection, session_id: int, fallback_zone: str) -> SessionFacts | None:
    """The session's facts, read as marking reads it, so a scan's unit of work reads the session once."""
    row = await find_session_row(conn, session_id)
    if row is None:
        return None
    return _facts_of(row, fallback_zone)


def _facts(row: Any, fallback_zone: str) -> SessionFacts:
    info = SessionInfo(row.id, row.title, _enum(SessionKind, row.kind, SessionKind.GROUP),
                       _enum(SessionMode, row.mode, SessionMode.FACE_TO_FACE), row.starts_at, row.ends_at,
                       row.programme_id, row.element, row.mandatory,
                       _enum(SessionStatus, row.status, SessionStatus.SCHEDULED), row.register_completed_at)
    # the same grace the register applies when it works out minutes late
    grace = row.programme_grace or session_policy(row).grace_minutes
    return SessionFacts(info, row.org_id, _zone(row.timezone, fallback_zone), grace,
                        max(1, row.qr_rotation_seconds or 15), row.location, row)


# Facts by session row object (the session read is memoised), for each fallback zone: in practice the
# app's one setting.
_FACTS: dict[str, Derived[SessionFacts]] = {}


def _facts_of(row: Any, fallback_zone: str) -> SessionFacts:
    derived = _FACTS.get(fallback_zone)
    if derived is None:
        derived = _FACTS[fallback_zone] = Derived(functools.partial(_facts, fallback_zone=fallback_zone))
    return derived(row)


def checkin_url(base_url: str, session_id: int, token: str, direction: Direction = "in") -> str:
    """The page a scan opens; the code rides in the fragment, so it never reaches logs or referrers."""
    url = f"{base_url.rstrip('/')}/checkin.html#s={session_id}&t={quote(token, safe='-_')}"
    return url + "&d=out" if direction == "out" else url


def display_code(ctx: AppContext, facts: SessionFacts, now: datetime, direction: Direction = "in") -> ScanCode:
    """The rotating code for the window holding `now`, bound to the session and the local day."""
    window = rotation_window(now, facts.rotation_s)
    day = facts.day(now)
    token = issue_rotating(scan_key(ctx), facts.info.id, day, window)
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo or ZoneInfo("UTC"))
    start = epoch + timedelta(seconds=window * facts.rotation_s)
    return ScanCode("rotating", token, checkin_url(ctx.settings.public_base_url, facts.info.id, token, direction),
                    day, start, start + timedelta(seconds=facts.rotation_s))


def poster_code(ctx: AppContext, facts: SessionFacts, day: date, direction: Direction = "in") -> ScanCode:
    """A printed code for one local day: from check-in opening (or midnight) to the end (or midnight)."""
    midnight = datetime.combine(day, time(0), facts.zone)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), facts.zone)
    valid_from = max(facts.opens_at, midnight)
    valid_until = min(facts.info.ends_at, next_midnight)
    if valid_until <= valid_from:
        raise Invalid("no_checkin_that_day", f"The session has no check-in on {day.isoformat()}.", "day")
    token = issue_poster(scan_key(ctx), facts.info.id, day, valid_from, valid_until)
    return ScanCode("poster", token, checkin_url(ctx.settings.public_base_url, facts.info.id, token, direction),
                    day, valid_from, valid_until)


def verify_code(ctx: AppContext, facts: SessionFacts | None, session_id: int, token: str,
                now: datetime) -> ScanToken | TokenRejection:
    """Checks a scanned code against the session it was sent for, the day (multi-day sessions) and the time."""
    rotation = facts.rotation_s if facts else 15
    day = facts.day(now) if facts is not None and facts.multi_day else None
    return verify_scan_token(scan_key(ctx), token, session_id, now, rotation, ROTATING_GRACE_S, day_expected=day)
