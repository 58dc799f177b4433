"""WEEKLY-REPORT: every Monday at 07:00 local, last week's attendance per programme to its leads.

Each programme with addresses in `weekly_report_to` gets one report per week: the week's
attendance and punctuality, who missed what (AMB asks partners to follow up non-attendees),
and everyone's completion status with the at-risk list first. A fired deadline row keyed
"WEEKLY-REPORT:p<programme>:w<monday>" is written in the same unit as the deliveries; its
unique key makes the report go once per week however often, and on however many instances,
`send_weekly_reports` runs. A server that was down on Monday morning sends on its return.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from checkin.context import AppContext
from checkin.domain.completion import DECIDED
from checkin.domain.rules.windows import wall_clock
from checkin.domain.rules.wording import date_label
from checkin.services.alerting import Recipient, send_report
from checkin.services.completion_records import load_programme, load_standings
from checkin.services.reports import STATUS_LABELS, at_risk_first, summary, weekly
from checkin.storage.database import Tx
from checkin.storage.tables import deadlines, organisations, programmes

RULE_ID = "WEEKLY-REPORT"
SEND_AT = time(7, 0)
MAX_SLEEP = 3600.0
log = logging.getLogger(__name__)


def last_slot(now: datetime, tz: ZoneInfo) -> datetime:
    """The latest Monday 07:00 local at or before `now`."""
    day = now.astimezone(tz).date()
    monday = day - timedelta(days=day.weekday())
    slot = wall_clock(monday, SEND_AT, tz)
    return slot if slot <= now else wall_clock(monday - timedelta(days=7), SEND_AT, tz)


def next_slot(now: datetime, tz: ZoneInfo) -> datetime:
    return wall_clock(last_slot(now, tz).astimezone(tz).date() + timedelta(days=7), SEND_AT, tz)


def report_key(programme_id: int, week: date) -> str:
    return f"{RULE_ID}:p{programme_id}:w{week.isoformat()}"


def recipients_of(raw: Any) -> list[Recipient]:
    """`weekly_report_to` holds e-mail strings or {"email", "name"} objects."""
    out = []
    for item in raw or []:
        email, name = (item, "") if isinstance(item, str) else (
            (str(item.get("email") or ""), str(item.get("name") or "")) if isinstance(item, dict) else ("", ""))
        if email.strip():
            out.append(Recipient("programme_contact", "email", email.strip(), name))
    return out


async def send_weekly_reports(ctx: AppContext, now: datetime, org_id: int | None = None) -> list[dict[str, Any]]:
    """Sends every programme's report for the week before the latest Monday 07:00; already sent ones are skipped."""
    query = (sa.select(programmes.c.id, programmes.c.weekly_report_to, organisations.c.timezone)
             .join(organisations, organisations.c.id == programmes.c.org_id).order_by(programmes.c.id))
    if org_id is not None:
        query = query.where(programmes.c.org_id == org_id)
    async with ctx.db.read() as conn:
        rows = (await conn.execute(query)).all()
    sent = []
    for row in rows:
        to = recipients_of(row.weekly_report_to)
        if not to:
            continue
        try:
            outcome = await _send_one(ctx, row.id, to, ZoneInfo(row.timezone or "Europe/London"), now)
        except Exception:  # one programme's failure must not stop the others' reports
            log.exception("weekly report for programme %s failed", row.id)
            continue
        if outcome is not None:
            sent.append(outcome)
    return sent


async def _send_one(ctx: AppContext, programme_id: int, to: list[Recipient], tz: ZoneInfo,
                    now: datetime) -> dict[str, Any] | None:
    slot = last_slot(now, tz)
    week = slot.astimezone(tz).date() - timedelta(days=7)

    async def work(tx: Tx) -> dict[str, Any] | None:
        info = await load_programme(tx.conn, programme_id)
        key = report_key(programme_id, week)
        try:
            async with tx.conn.begin_nested():
                deadline_id = (await tx.conn.execute(sa.insert(deadlines).values(
                    org_id=info.org_id, session_id=None, rule_id=RULE_ID, person_id=None, key=key, due_at=slot,
                    fired_at=now, created_at=now, result={"outcome": "sending"}).returning(deadlines.c.id))
                ).scalar_one()
        except IntegrityError:
            return None  # this week's report has gone already
        facts = await weekly_facts(tx, info, week, now)
        ids = await send_report(tx, ctx, org_id=info.org_id, kind="weekly_report", subject_facts=facts,
                                recipients=to, now=now, session_id=None, person_id=None)
        result = {"outcome": "fired", "late_by_seconds": int((now - slot).total_seconds()),
                  "did": [{"type": "report", "kind": "weekly_report", "deliveries": ids,
                           "recipients": [r.address for r in to], "week": week.isoformat()}]}
        await tx.conn.execute(sa.update(deadlines).where(deadlines.c.id == deadline_id).values(result=result))
        return {"programme_id": programme_id, "week": week.isoformat(), "deliveries": ids}

    return await ctx.db.write(work)


async def weekly_facts(tx: Tx, info: Any, week: date, now: datetime) -> dict[str, Any]:
    """The report's content: the week's figures, who missed what, and everyone's status."""
    standings = await load_standings(tx.conn, info, now)
    end = week + timedelta(days=7)

    def in_week(moment: datetime) -> bool:
        return week <= moment.astimezone(info.tz).date() < end

    figures = next((w for w in weekly(info, standings, now) if w["week"] == week.isoformat()), None)
    missed = [{"name": s.name, "session_title": a.session.title,
               "date": date_label(a.session.starts_at.astimezone(info.tz).date()),
               "status": a.mark.status if a.mark is not None else "no_mark", "outcome": a.outcome.value}
              for s in standings for a in s.items
              if in_week(a.session.starts_at) and a.outcome in DECIDED and not a.record.register_present]
    people = at_risk_first([summary(s) for s in standings])
    at_risk = [{"name": p["name"], "status": STATUS_LABELS[p["status"]], "reasons": p["reasons"]}
               for p in people if p["status"] != "on_track" and p["enrolment_status"] == "active"]
    percent = figures["percent"] if figures else None
    lines = [f"Attendance in the week of {date_label(week)}: "
             + (f"{percent}% of {figures['sessions']} session places" if figures else "no sessions took place")
             + (f"; {figures['late_arrivals']} late arrival(s), {figures['average_minutes_late']} minutes late on "
                f"average" if figures and figures["late_arrivals"] else "") + "."]
    lines += [f"Missed: {m['name']}, {m['session_title']} ({m['date']})" for m in missed]
    lines += [f"{r['status']}: {r['name']}" for r in at_risk]
    return {
        "rule_id": RULE_ID, "programme_id": info.id, "programme_name": info.name, "week": week.isoformat(),
        "week_label": date_label(week), "attendance_percent": percent, "week_figures": figures,
        "missed": missed, "at_risk": at_risk, "lines": lines,
        "participants": [{"name": p["name"], "status": p["status"], "attendance_percent": p["attendance_percent"],
                          "percent": p["percent"], "average_minutes_late": p["average_minutes_late"]}
                         for p in people],
        "next_action": "Please follow up with the participants who missed sessions, and with those at risk.",
    }


async def _loop(ctx: AppContext) -> None:
    tz = ctx.settings.zone
    while True:
        now = ctx.clock()
        try:
            await send_weekly_reports(ctx, now)
        except Exception:
            log.exception("weekly reports failed; trying again later")
        wait = (next_slot(now, tz) - now).total_seconds()
        # Capped, so an organisation in another zone, or a clock moved by hand, is caught within the hour.
        await asyncio.sleep(min(max(wait, 1.0), MAX_SLEEP))


@contextlib.asynccontextmanager
async def run_weekly_reports(ctx: AppContext) -> AsyncIterator[asyncio.Task[None]]:
    """Sends the weekly reports each Monday at 07:00 local for the app's lifetime."""
    task = asyncio.create_task(_loop(ctx), name="checkin-weekly-reports")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
