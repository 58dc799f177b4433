"""JSON-ready fact blocks shared by alerts and reports (times as ISO UTC plus local clock time)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from checkin.domain.model import Contact, Notice, Person, SessionInfo
from checkin.domain.rules.windows import as_utc
from checkin.domain.rules.wording import day_label, hhmm


def iso(moment: datetime) -> str:
    return as_utc(moment).isoformat()


def session_facts(session: SessionInfo, tz: ZoneInfo) -> dict[str, Any]:
    return {"session_id": session.id, "session_title": session.title, "session_kind": session.kind.value,
            "session_mode": session.mode.value, "date": day_label(session.starts_at, tz),
            "starts_at": iso(session.starts_at), "starts_at_local": hhmm(session.starts_at, tz),
            "ends_at": iso(session.ends_at), "tz": tz.key}


def person_facts(person: Person) -> dict[str, Any]:
    return {"person_id": person.id, "name": person.name, "ap_pupil": person.ap_pupil,
            "on_school_roll": person.on_school_roll, "school": person.school}


def contact_facts(contacts: Iterable[Contact]) -> list[dict[str, str]]:
    return [{"name": c.name, "relationship": c.relationship, "phone": c.phone, "email": c.email,
             "organisation": c.organisation} for c in contacts]


def notice_facts(notice: Notice | None, session: SessionInfo, tz: ZoneInfo) -> dict[str, Any]:
    """The notice and, when it came after the start, how late it was (RULES NOTICE)."""
    if notice is None:
        return {"notice": None}
    seconds_after = (as_utc(notice.received_at) - as_utc(session.starts_at)).total_seconds()
    return {"notice": {"reason": notice.reason, "accepted": notice.accepted, "given_by": notice.given_by,
                       "received_at": iso(notice.received_at), "received_at_local": hhmm(notice.received_at, tz),
                       "after_start": seconds_after > 0, "minutes_after_start": max(int(seconds_after // 60), 0)}}
