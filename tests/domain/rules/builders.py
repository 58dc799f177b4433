"""Fictional people and sessions for the rule tests (phones from Ofcom's drama range, e-mails at example.org)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from checkin.domain.model import (
    Contact,
    ContactKind,
    FollowUp,
    FollowUpOutcome,
    Mark,
    MarkStatus,
    Notice,
    Person,
    SessionInfo,
    SessionKind,
    SessionMode,
    SessionSnapshot,
)
from checkin.domain.rules import DeadlineSpec, Policy, RuleConfig, RuleContext, preset
from checkin.domain.rules.deadlines import due_at

LONDON = ZoneInfo("Europe/London")
T = TypeVar("T")

def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=UTC)

def london(y: int, m: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=LONDON, fold=fold)

# A Tuesday in GMT, far from any clock change.
START = london(2026, 3, 10, 9, 0)

def session(start: datetime = START, *, kind: SessionKind = SessionKind.AP_TUITION,
            mode: SessionMode = SessionMode.FACE_TO_FACE, minutes: int = 60, **kw: Any) -> SessionInfo:
    start = start.astimezone(UTC)
    kw.setdefault("tutor_ids", (900,))
    return SessionInfo(id=77, title="Maths tuition", kind=kind, mode=mode, starts_at=start,
                       ends_at=start + timedelta(minutes=minutes), programme_id=5, **kw)

def pupil(pid: int = 1, first: str = "Ava", last: str = "Example", **kw: Any) -> Person:
    kw.setdefault("ap_pupil", True)
    return Person(id=pid, first_name=first, last_name=last, email=f"{first.lower()}@example.org", **kw)

def learner(pid: int = 1, first: str = "Ben", last: str = "Sample", **kw: Any) -> Person:
    return Person(id=pid, first_name=first, last_name=last, email=f"{first.lower()}@example.org",
                  employer="Fictional Widgets Ltd", **kw)

def emergency(pid: int = 1, name: str = "Carla Example", phone: str = "07700 900101") -> Contact:
    return Contact(id=100 + pid, person_id=pid, kind=ContactKind.EMERGENCY, name=name, relationship="mother",
                   phone=phone)

def attendance_contact(pid: int = 1) -> Contact:
    return Contact(id=200 + pid, person_id=pid, kind=ContactKind.ATTENDANCE, name="Dana Officer",
                   email="attendance@school.example.org", organisation="Example Academy")

def employer_contact(pid: int = 1) -> Contact:
    return Contact(id=300 + pid, person_id=pid, kind=ContactKind.EMPLOYER, name="Eli Boss",
                   email="eli@widgets.example.org", organisation="Fictional Widgets Ltd")

def mark(pid: int, status: MarkStatus, at: datetime, code: str = "/", reason: str = "", **kw: Any) -> Mark:
    return Mark(person_id=pid, status=status, code=code, recorded_at=at, reason=reason, **kw)

def notice(pid: int, at: datetime, reason: str = "Sickness", accepted: bool = True) -> Notice:
    return Notice(person_id=pid, reason=reason, accepted=accepted, received_at=at, given_by="parent")

def follow_up(pid: int, outcome: FollowUpOutcome, at: datetime, who: str = "Carla Example") -> FollowUp:
    return FollowUp(person_id=pid, outcome=outcome, logged_at=at, contact_name=who, method="phone")

def snapshot(info: SessionInfo, roster: Iterable[Person], marks: Iterable[Mark] = (),
             notices: Iterable[Notice] = (), follow_ups: Iterable[FollowUp] = (),
             contacts: Iterable[Contact] = ()) -> SessionSnapshot:
    return SessionSnapshot(session=info, roster=tuple(roster), marks={m.person_id: m for m in marks},
                           notices={n.person_id: n for n in notices}, follow_ups=tuple(follow_ups),
                           contacts=tuple(contacts))

def rule_of(policy: Policy, rule_id: str) -> RuleConfig:
    rule = policy.rule(rule_id)
    assert rule is not None
    return rule

def first_deadline(policy: Policy, rule_id: str, info: SessionInfo) -> DeadlineSpec:
    return DeadlineSpec(rule_id, None, due_at(rule_of(policy, rule_id), info, policy, LONDON))

def context(policy: Policy | None = None, **kw: Any) -> RuleContext:
    return RuleContext(policy=policy or preset("ap_tuition"), tz=LONDON, **kw)


def of_type(actions: Iterable[object], cls: type[T]) -> list[T]:
    return [a for a in actions if isinstance(a, cls)]


def one(actions: Iterable[object], cls: type[T]) -> T:
    found = of_type(actions, cls)
    assert len(found) == 1, found
    return found[0]


def kinds(actions: Iterable[object]) -> list[str]:
    return [type(a).__name__ for a in actions]
