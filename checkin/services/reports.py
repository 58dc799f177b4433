"""The participant and programme pages' data: statuses, timeline, weekly percentages, punctuality.

Everything is computed from the same standings the completion service stores and the CSV
exports write, so a number on a page, in an export and in an escalation always agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.completion import DECIDED, SEVERITY, CompletionStatus
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.catchup import person_catch_ups
from checkin.services.completion_records import (
    ATTENDING,
    Attendance,
    ProgrammeInfo,
    Standing,
    category_of,
    load_programme,
    load_standings,
)
from checkin.services.escalation import current_stages, escalation_view
from checkin.services.notices import notice_json
from checkin.services.ownership import person_for, require, tutor_person_ids
from checkin.services.records import jsonable
from checkin.storage.tables import enrolments, programmes, roster, sessions

STATUS_LABELS = {"on_track": "On track", "at_risk": "At risk", "cannot_complete": "Cannot complete"}


@dataclass(frozen=True)
class Punctuality:
    attended: int
    late: int
    minutes_late: int

    @property
    def average(self) -> float | None:
        return round(self.minutes_late / self.late, 1) if self.late else None

    @property
    def on_time_percent(self) -> float | None:
        return round(100 * (self.attended - self.late) / self.attended, 1) if self.attended else None

    def to_dict(self) -> dict[str, Any]:
        return {"attended": self.attended, "late_arrivals": self.late, "minutes_late_total": self.minutes_late,
                "average_minutes_late": self.average, "on_time_percent": self.on_time_percent}


def punctuality(items: Iterable[Attendance]) -> Punctuality:
    """LATE: minutes late are reported beside attendance, over the sessions attended live."""
    live = [a for a in items if a.mark is not None and a.mark.status in ATTENDING]
    late = [a.mark.minutes_late for a in live if a.mark is not None and a.mark.minutes_late > 0]
    return Punctuality(len(live), len(late), sum(late))


def monday(moment: datetime, info: ProgrammeInfo) -> date:
    day = moment.astimezone(info.tz).date()
    return day - timedelta(days=day.weekday())


def weekly(info: ProgrammeInfo, standings: Iterable[Standing], now: datetime) -> list[dict[str, Any]]:
    """Register attendance and punctuality per ISO week, oldest first (the domain's weekly_percentages, counted)."""
    decided: dict[date, int] = defaultdict(int)
    present: dict[date, int] = defaultdict(int)
    items: dict[date, list[Attendance]] = defaultdict(list)
    for s in standings:
        for a in s.items:
            if a.record.starts_at > now or a.outcome not in DECIDED:
                continue
            week = monday(a.record.starts_at, info)
            decided[week] += 1
            present[week] += a.record.register_present
            items[week].append(a)
    out = []
    for week in sorted(decided):
        p = punctuality(items[week])
        out.append({"week": week.isoformat(), "sessions": decided[week], "present": present[week],
                    "percent": round(100 * present[week] / decided[week], 1)} | p.to_dict())
    return out


def summary(s: Standing, stage: str | None = None) -> dict[str, Any]:
    """One participant's line on the programme page (and in the summary export)."""
    t, r = s.result.overall, s.result
    p = punctuality(s.items)
    return {
        "person_id": s.person.id, "name": s.name, "first_name": s.person.first_name,
        "last_name": s.person.last_name, "external_ref": s.person.external_ref or "", "school": s.person.school,
        "enrolment_status": s.enrolment_status, "status": r.status.value, "status_label": STATUS_LABELS[r.status],
        "sessions": t.counted, "attended": t.attended, "caught_up": t.caught_up, "missed": t.missed,
        "spent": t.spent, "excluded": t.excluded, "remaining": t.remaining, "unmarked": t.unmarked,
        "percent": _r(t.percent), "live_percent": _r(t.live_percent), "attendance_percent": _r(t.attendance_percent),
        "best_percent": _r(t.best_percent), "persistence": r.persistence, "escalation_stage": stage,
        "reasons": [q.reason for q in r.requirements if q.status is not CompletionStatus.ON_TRACK],
    } | {k: v for k, v in p.to_dict().items() if k != "attended"}


def at_risk_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: (-SEVERITY[CompletionStatus(row["status"])], row["last_name"].casefold(),
                                         row["first_name"].casefold(), row["person_id"]))


async def visible_people(conn: AsyncConnection, actor: Principal) -> set[int] | None:
    """None for staff who see the whole organisation; a tutor sees the people they teach."""
    if actor.role is not Role.TUTOR:
        return None
    return {int(p) for p in (await conn.execute(tutor_person_ids(actor.user_id))).scalars()}


async def programme_standings(conn: AsyncConnection, actor: Principal, programme_id: int,
                              now: datetime) -> tuple[ProgrammeInfo, list[Standing]]:
    await require(conn, programmes, programme_id, actor.org_id, "programme")
    info = await load_programme(conn, programme_id, actor.org_id)
    return info, await load_standings(conn, info, now, await visible_people(conn, actor))


async def programme_report(ctx: AppContext, actor: Principal, programme_id: int, now: datetime) -> dict[str, Any]:
    """Everyone's status with the at-risk list first, weekly percentages and punctuality."""
    async with ctx.db.read() as conn:
        info, standings = await programme_standings(conn, actor, programme_id, now)
        stages = await current_stages(conn, programme_id)
    people = at_risk_first([summary(s, stages.get(s.person.id)) for s in standings])
    counts = {k: sum(1 for p in people if p["status"] == k) for k in STATUS_LABELS}
    overall = punctuality(a for s in standings for a in s.items)
    decided = sum(s.result.overall.decided for s in standings)
    present = sum(s.result.overall.present for s in standings)
    return {
        "programme": {"id": info.id, "name": info.name, "code_set": info.codes.name, "preset": info.row.preset,
                      "requirements": [r.to_dict() for r in info.requirements]},
        "generated_at": jsonable(now), "people": people,
        "at_risk": [p for p in people if p["status"] != "on_track" and p["enrolment_status"] == "active"],
        "weekly": weekly(info, standings, now),
        "totals": {"people": len(people), **counts,
                   "attendance_percent": round(100 * present / decided, 1) if decided else None,
                   **overall.to_dict()},
    }


def timeline_item(a: Attendance, info: ProgrammeInfo) -> dict[str, Any]:
    s, m = a.session, a.mark
    code = info.codes.get(m.code) if m is not None else None
    return {
        "session": {"id": s.id, "title": s.title, "kind": s.kind, "element": s.element or s.kind, "mode": s.mode,
                    "starts_at": jsonable(s.starts_at), "ends_at": jsonable(s.ends_at), "status": s.status,
                    "status_reason": s.status_reason, "mandatory": bool(s.mandatory),
                    "alternative_for_id": s.alternative_for_id},
        "mark": None if m is None else {
            "status": m.status, "code": m.code, "label": code.label if code else m.code,
            "category": category_of(info.codes, m).value, "arrived_at": jsonable(m.arrived_at),
            "departed_at": jsonable(m.departed_at), "minutes_late": m.minutes_late, "source": m.source,
            "reason": m.reason, "recorded_at": jsonable(m.server_time)},
        "notice": None if a.notice is None else notice_json(a.notice, s.starts_at, info.policy.late_cancel_hours),
        "catch_up": a.catch_up, "outcome": a.outcome.value,
        "share_missed_percent": round(100 * a.record.minutes_missed_share, 1),
        "catch_up_required": a.outcome.value == "missed" and a.catch_up is None,
        "spent": a.record.spent, "excluded": a.record.excluded,
    }


async def participant_report(ctx: AppContext, actor: Principal, person_id: int, now: datetime,
                             programme_id: int | None = None) -> dict[str, Any]:
    """One participant: per programme their timeline, percentages, status, notices, catch-ups, escalation."""
    async with ctx.db.read() as conn:
        person = await person_for(conn, actor, person_id)
        ids = await _programmes_of(conn, person_id, actor.org_id)
        if programme_id is not None:
            await require(conn, programmes, programme_id, actor.org_id, "programme")
            ids = [programme_id]
        out = []
        for pid in ids:
            info = await load_programme(conn, pid, actor.org_id)
            found = await load_standings(conn, info, now, [person_id])
            if not found:
                continue
            s = found[0]
            session_ids = [a.session.id for a in s.items]
            out.append({
                "programme": {"id": info.id, "name": info.name, "code_set": info.codes.name},
                "enrolment_status": s.enrolment_status, "completion": s.result.to_dict(),
                "summary": summary(s), "weekly": weekly(info, [s], now),
                "punctuality": punctuality(s.items).to_dict(),
                "timeline": [timeline_item(a, info) for a in s.items],
                "notices": [notice_json(a.notice, a.session.starts_at, info.policy.late_cancel_hours)
                            | {"session_title": a.session.title} for a in s.items if a.notice is not None],
                "catch_ups": await person_catch_ups(conn, person_id, session_ids),
                "catch_up_required": [a.session.id for a in s.items
                                      if a.outcome.value == "missed" and a.catch_up is None],
                "escalation": await escalation_view(conn, person_id, pid),
            })
    return {"person": {"id": person.id, "name": f"{person.first_name} {person.last_name}".strip(),
                       "first_name": person.first_name, "last_name": person.last_name, "email": person.email,
                       "external_ref": person.external_ref, "ap_pupil": person.ap_pupil, "school": person.school,
                       "employer": person.employer},
            "generated_at": jsonable(now), "programmes": out}


async def _programmes_of(conn: AsyncConnection, person_id: int, org_id: int) -> list[int]:
    enrolled = sa.select(enrolments.c.programme_id).where(enrolments.c.person_id == person_id)
    rostered = (sa.select(sessions.c.programme_id).join(roster, roster.c.session_id == sessions.c.id)
                .where(roster.c.person_id == person_id))
    rows = (await conn.execute(sa.select(programmes.c.id).where(
        programmes.c.org_id == org_id, sa.or_(programmes.c.id.in_(enrolled), programmes.c.id.in_(rostered)))
        .order_by(programmes.c.name, programmes.c.id))).scalars().all()
    return [int(r) for r in rows]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
