"""Follow-ups (who was contacted, how, with what outcome) and the session and incident reports.

A follow-up is idempotent by its client nonce: a retried request returns the first row. An
outcome of "reached" is what stops AP-DSL, so the watcher is woken after every commit. A
follow-up logged against a task settles it: any outcome ends an events call (and a call that
did not reach the participant sends them the e-mail follow-up the rule asks for); other call
tasks end only when someone was reached or e-mailed.

Reports are stored as alerts: a session report (rule SESSION-REPORT, severity info) is filed
closed, since it needs no action; an incident report (rule INCIDENT-REPORT, severity
safeguarding) goes to the DSL chain like any safeguarding alert, for the DSL to acknowledge.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Forbidden, Invalid
from checkin.domain.model import AlertSeverity, FollowUpOutcome, Role
from checkin.domain.principal import Principal
from checkin.domain.rules.wording import day_label, hhmm
from checkin.services.alerting import Recipient, alert_summary, raise_alert, resolve_recipients, send_report
from checkin.services.ownership import org_zone, person_for, reference, session_for
from checkin.services.safeguarding import watch_acknowledgement
from checkin.services.tasks import CALL_KINDS, publish_task
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import alerts, follow_ups, people, tasks

METHODS = ("phone", "email", "sms", "in_person", "video", "other")
ENDS_ANY_TASK = {FollowUpOutcome.REACHED.value, FollowUpOutcome.EMAIL_SENT.value}
NOT_REACHED = {FollowUpOutcome.VOICEMAIL.value, FollowUpOutcome.NO_ANSWER.value}


def follow_up_json(r: Any) -> dict[str, Any]:
    return {"id": r.id, "session_id": r.session_id, "person_id": r.person_id, "alert_id": r.alert_id,
            "task_id": r.task_id, "contact_name": r.contact_name, "method": r.method, "outcome": r.outcome,
            "note": r.note, "logged_by": r.logged_by, "logged_at": r.logged_at.isoformat(), "nonce": r.nonce}


async def log_follow_up(ctx: AppContext, actor: Principal, *, person_id: int | None, outcome: str, method: str,
                        now: datetime, contact_name: str = "", note: str = "", nonce: str | None = None,
                        session_id: int | None = None, alert_id: int | None = None,
                        task_id: int | None = None) -> dict[str, Any]:
    """Records one follow-up (once per nonce) and settles its task; returns it with `duplicate`."""
    async def work(tx: Tx) -> dict[str, Any]:
        if nonce:
            first = (await tx.conn.execute(sa.select(follow_ups).where(follow_ups.c.nonce == nonce))).first()
            if first is not None:
                return _duplicate(first, actor)
        task = None
        sid, pid = session_id, person_id
        if task_id is not None:
            task = await reference(tx.conn, tasks, task_id, actor.org_id, "task_id", "task")
            sid, pid = sid or task.session_id, pid or task.person_id
            if person_id is not None and task.person_id not in (None, person_id):
                raise Invalid("task_mismatch", "That task is about someone else.", "task_id")
        if alert_id is not None:
            alert = await reference(tx.conn, alerts, alert_id, actor.org_id, "alert_id", "alert")
            sid, pid = sid or alert.session_id, pid or alert.person_id
        if pid is None:
            raise Invalid("required", "Say who the follow-up is about (person_id).", "person_id")
        await (session_for(tx.conn, actor, sid) if sid is not None else person_for(tx.conn, actor, pid))
        await reference(tx.conn, people, pid, actor.org_id, "person_id", "person")
        try:
            async with tx.conn.begin_nested():
                new_id = (await tx.conn.execute(sa.insert(follow_ups).values(
                    org_id=actor.org_id, session_id=sid, person_id=pid, alert_id=alert_id, task_id=task_id,
                    contact_name=contact_name, method=method, outcome=outcome, note=note, logged_by=actor.user_id,
                    logged_at=now, nonce=nonce or None).returning(follow_ups.c.id))).scalar_one()
        except IntegrityError:
            first = (await tx.conn.execute(sa.select(follow_ups).where(follow_ups.c.nonce == nonce))).first()
            if first is None:
                raise
            return _duplicate(first, actor)
        row = (await tx.conn.execute(sa.select(follow_ups).where(follow_ups.c.id == new_id))).one()
        await record(tx.conn, now, actor, "create", "follow_up", new_id, person_id=pid, session_id=sid,
                     after={"outcome": outcome, "method": method, "contact_name": contact_name, "task_id": task_id,
                            "alert_id": alert_id})
        if task is not None:
            await _settle_task(tx, ctx, actor, task, outcome, now)
        channel = events.org_channel(actor.org_id)
        await events.emit(tx, ctx.hub.publish, channel, "follow_up",
                          {k: v for k, v in follow_up_json(row).items() if k not in ("note", "nonce")}, now)
        tx.after_commit(lambda: ctx.wake("watcher"))
        return {**follow_up_json(row), "duplicate": False}

    return await ctx.db.write(work)


def _duplicate(row: Any, actor: Principal) -> dict[str, Any]:
    if row.org_id != actor.org_id:
        raise Invalid("nonce_taken", "That nonce was already used.", "nonce")
    return {**follow_up_json(row), "duplicate": True}


async def _settle_task(tx: Tx, ctx: AppContext, actor: Principal, task: Any, outcome: str, now: datetime) -> None:
    if task.state != "open":
        return
    events_call = task.kind in CALL_KINDS
    if not events_call and outcome not in ENDS_ANY_TASK:
        return
    facts = dict(task.facts or {})
    facts["outcome"] = outcome
    if events_call and outcome in NOT_REACHED and facts.get("email_follow_up_if_not_reached", True):
        facts["email_follow_up"] = await _email_participant(tx, ctx, task, facts, now)
    await tx.conn.execute(sa.update(tasks).where(tasks.c.id == task.id).values(
        state="done", done_at=now, done_by=actor.user_id, facts=facts))
    await record(tx.conn, now, actor, "complete", "task", task.id, before={"state": "open"},
                 after={"state": "done", "outcome": outcome}, person_id=task.person_id, session_id=task.session_id)
    await publish_task(tx, ctx, task.id, now)


async def _email_participant(tx: Tx, ctx: AppContext, task: Any, facts: dict[str, Any],
                             now: datetime) -> list[str]:
    """The e-mail an events call that reached nobody is followed by (RULES EVENTS-CALL)."""
    person = (await tx.conn.execute(sa.select(people).where(people.c.id == task.person_id))).first()
    if person is None or not person.email:
        return []
    name = f"{person.first_name} {person.last_name}".strip()
    return await send_report(tx, ctx, org_id=task.org_id, kind="events_follow_up",
                             subject_facts={**facts, "name": name, "rule_id": "EVENTS-FOLLOW-UP"},
                             recipients=[Recipient("participant", "email", person.email, name)], now=now,
                             session_id=task.session_id, person_id=task.person_id)


async def list_follow_ups(ctx: AppContext, actor: Principal, *, person_id: int | None = None,
                          session_id: int | None = None, alert_id: int | None = None,
                          limit: int = 200) -> list[dict[str, Any]]:
    query = sa.select(follow_ups).where(follow_ups.c.org_id == actor.org_id)
    async with ctx.db.read() as conn:
        if session_id is not None:
            await session_for(conn, actor, session_id)
            query = query.where(follow_ups.c.session_id == session_id)
        if person_id is not None:
            await person_for(conn, actor, person_id)
            query = query.where(follow_ups.c.person_id == person_id)
        if alert_id is not None:
            query = query.where(follow_ups.c.alert_id == alert_id)
        if actor.role is Role.TUTOR and session_id is None and person_id is None:
            raise Forbidden("not_your_session", "Tutors list follow-ups by their own session or person.")
        rows = (await conn.execute(query.order_by(follow_ups.c.logged_at.desc()).limit(limit))).all()
    return [follow_up_json(r) for r in rows]


REPORT_RULES = {"session": ("SESSION-REPORT", "session_report"), "incident": ("INCIDENT-REPORT", "incident_report")}


async def write_report(ctx: AppContext, actor: Principal, *, session_id: int, kind: str, text: str, now: datetime,
                       person_id: int | None = None) -> dict[str, Any]:
    """A session report (filed) or an incident report (to the DSL chain, to acknowledge)."""
    rule_id, alert_kind = REPORT_RULES[kind]

    async def work(tx: Tx) -> dict[str, Any]:
        session = await session_for(tx.conn, actor, session_id)
        facts = await _report_facts(tx.conn, actor, session, text, person_id)
        incident = kind == "incident"
        label = "Incident report" if incident else "Session report"
        title = f"{label}: {session.title}" + (f" ({facts['name']})" if facts.get("name") else "")
        recipients = await resolve_recipients(tx.conn, actor.org_id, ["dsl_chain"], session_id=session_id,
                                              person_id=person_id) if incident else []
        alert_id = await raise_alert(
            tx, ctx, org_id=actor.org_id, rule_id=rule_id, kind=alert_kind,
            severity=(AlertSeverity.SAFEGUARDING if incident else AlertSeverity.INFO).value, title=title,
            why=f"{actor.name} wrote: {text}", facts=facts, recipients=recipients, now=now, session_id=session_id,
            person_id=person_id)
        if incident:
            await watch_acknowledgement(tx, ctx, alert_id, actor.org_id, session.programme_id, person_id, now)
        else:
            await tx.conn.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(
                state="closed", closed_at=now, closed_by=actor.user_id, outcome="Filed with the session."))
        await record(tx.conn, now, actor, "create", "report", f"alert:{alert_id}", person_id=person_id,
                     session_id=session_id, after={"kind": kind})
        row = (await tx.conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).one()
        return report_json(row)

    return await ctx.db.write(work)


async def _report_facts(conn: AsyncConnection, actor: Principal, session: Any, text: str,
                        person_id: int | None) -> dict[str, Any]:
    tz = await org_zone(conn, actor.org_id)
    facts: dict[str, Any] = {"session_id": session.id, "session_title": session.title,
                             "date": day_label(session.starts_at, tz), "starts_at_local": hhmm(session.starts_at, tz),
                             "report_text": text, "written_by": actor.name, "written_by_user_id": actor.user_id}
    if person_id is not None:
        person = await reference(conn, people, person_id, actor.org_id, "person_id", "person")
        facts |= {"person_id": person_id, "name": f"{person.first_name} {person.last_name}".strip()}
    return facts


def report_json(row: Any) -> dict[str, Any]:
    facts = row.facts or {}
    return {**alert_summary(row._mapping), "report_kind": "incident" if row.rule_id == "INCIDENT-REPORT" else "session",
            "text": facts.get("report_text", ""), "written_by": facts.get("written_by", "")}


async def list_reports(ctx: AppContext, actor: Principal, session_id: int) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        await session_for(conn, actor, session_id)
        rows = (await conn.execute(sa.select(alerts).where(
            alerts.c.org_id == actor.org_id, alerts.c.session_id == session_id,
            alerts.c.rule_id.in_([r for r, _ in REPORT_RULES.values()])).order_by(alerts.c.created_at))).all()
    return [report_json(r) for r in rows]
