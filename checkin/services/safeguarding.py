"""The DSL's side of an alert: the feed, the case timeline, acknowledge, decide, close; concerns from the room.

Acknowledging (or recording a decision on an open alert, which implies it was seen) settles
every pending DSL-ACK deadline of the alert in the same transaction, so the watcher's
escalation stops; the watcher is woken after commit to re-read its earliest deadline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid, NotFound
from checkin.domain.model import AlertSeverity, AlertState
from checkin.domain.principal import Principal
from checkin.domain.rules.wording import day_label, hhmm
from checkin.services.ack_deadlines import schedule_ack
from checkin.services.alerting import add_event, alert_summary, publish_alert, raise_alert, resolve_recipients
from checkin.services.completion_queue import RULE_ID as COMPLETION
from checkin.services.outbox import delivery_row_json
from checkin.services.ownership import org_zone, reference, session_for
from checkin.services.snapshots import policy_of
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import (
    alert_events,
    alerts,
    audit_log,
    deadlines,
    deliveries,
    delivery_attempts,
    follow_ups,
    mark_history,
    people,
    programmes,
    roster,
    sessions,
    tasks,
    users,
)

_SEVERITY_RANK = {"safeguarding": 0, "warning": 1, "info": 2}
_STATE_RANK = {"open": 0, "acknowledged": 1, "closed": 2}
STATES = ("active", "open", "acknowledged", "closed", "all")


def urgency(alert: dict[str, Any]) -> tuple[Any, ...]:
    """Unacknowledged before acknowledged, safeguarding first, higher escalation, then waiting longest."""
    return (_STATE_RANK.get(alert["state"], 3), _SEVERITY_RANK.get(alert["severity"], 3),
            -alert["escalation_level"], alert["created_at"] or "", alert["id"])


async def list_alerts(ctx: AppContext, actor: Principal, *, state: str = "active", severity: str | None = None,
                      limit: int = 200) -> list[dict[str, Any]]:
    """The organisation's alerts, most urgent first; `active` means open or acknowledged."""
    query = sa.select(alerts).where(alerts.c.org_id == actor.org_id)
    if state == "active":
        query = query.where(alerts.c.state.in_(["open", "acknowledged"]))
    elif state != "all":
        query = query.where(alerts.c.state == state)
    if severity:
        query = query.where(alerts.c.severity == severity)
    async with ctx.db.read() as conn:
        rows = (await conn.execute(query.order_by(alerts.c.created_at.desc()).limit(limit))).all()
    return sorted((alert_summary(r._mapping) for r in rows), key=urgency)


async def alert_detail(ctx: AppContext, actor: Principal, alert_id: int, now: datetime) -> dict[str, Any]:
    """The alert, its facts and whole timeline; the viewing is audited ("view", "alert")."""
    async def work(tx: Tx) -> dict[str, Any]:
        row = await _alert(tx.conn, actor, alert_id)
        detail = {**alert_summary(row._mapping), "facts": row.facts,
                  "timezone": (await org_zone(tx.conn, actor.org_id)).key}
        detail.update(await timeline(tx.conn, row, now))
        await record(tx.conn, now, actor, "view", "alert", alert_id, person_id=row.person_id,
                     session_id=row.session_id)
        return detail

    return await ctx.db.write(work)


async def acknowledge(ctx: AppContext, actor: Principal, alert_id: int, now: datetime,
                      note: str = "") -> dict[str, Any]:
    """Open → acknowledged, stopping DSL-ACK; acknowledging again changes nothing."""
    async def work(tx: Tx) -> dict[str, Any]:
        row = await _alert(tx.conn, actor, alert_id)
        if row.state == AlertState.CLOSED.value:
            raise Conflict("alert_closed", "This alert is already closed.")
        if row.state == AlertState.OPEN.value:
            await _acknowledge(tx, ctx, actor, row, now, note or "Acknowledged.")
        return await _summary(tx.conn, alert_id)

    return await ctx.db.write(work)


async def record_decision(ctx: AppContext, actor: Principal, alert_id: int, decision: str,
                          now: datetime) -> dict[str, Any]:
    """A decision or action on the case's timeline; on an open alert it is also the acknowledgement."""
    async def work(tx: Tx) -> dict[str, Any]:
        row = await _alert(tx.conn, actor, alert_id)
        if row.state == AlertState.CLOSED.value:
            raise Conflict("alert_closed", "This alert is closed; reopen is not possible, raise a new concern.")
        if row.state == AlertState.OPEN.value:
            await _acknowledge(tx, ctx, actor, row, now, "Acknowledged by recording a decision.")
        await add_event(tx.conn, alert_id, now, "decision", decision, {}, actor.user_id)
        await record(tx.conn, now, actor, "decide", "alert", alert_id, after={"decision": decision},
                     person_id=row.person_id, session_id=row.session_id)
        await publish_alert(tx, ctx, alert_id, "alert_update", now)
        return await _summary(tx.conn, alert_id)

    return await ctx.db.write(work)


async def close_alert(ctx: AppContext, actor: Principal, alert_id: int, outcome: str,
                      now: datetime) -> dict[str, Any]:
    """Closes the case with its outcome; any escalation still pending is settled too."""
    async def work(tx: Tx) -> dict[str, Any]:
        row = await _alert(tx.conn, actor, alert_id)
        if row.state == AlertState.CLOSED.value:
            raise Conflict("alert_closed", "This alert is already closed.")
        values: dict[str, Any] = {"state": AlertState.CLOSED.value, "closed_at": now, "closed_by": actor.user_id,
                                  "outcome": outcome[:1000]}
        if row.acknowledged_at is None:
            values |= {"acknowledged_at": now, "acknowledged_by": actor.user_id}
        await tx.conn.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(**values))
        await _settle_escalation(tx, ctx, alert_id, now, "closed", actor)
        await add_event(tx.conn, alert_id, now, "closed", outcome, {}, actor.user_id)
        await record(tx.conn, now, actor, "close", "alert", alert_id, before={"state": row.state},
                     after={"state": "closed", "outcome": outcome}, person_id=row.person_id,
                     session_id=row.session_id)
        await publish_alert(tx, ctx, alert_id, "alert_update", now)
        return await _summary(tx.conn, alert_id)

    return await ctx.db.write(work)


async def raise_concern(ctx: AppContext, actor: Principal, *, session_id: int, person_id: int, kind: str, note: str,
                        now: datetime) -> dict[str, Any]:
    """A tutor's safeguarding or wellbeing concern about someone in the room, as a CONCERN alert to the DSL chain."""
    async def work(tx: Tx) -> dict[str, Any]:
        session = await session_for(tx.conn, actor, session_id)
        person = await reference(tx.conn, people, person_id, actor.org_id, "person_id", "person")
        on_roster = (await tx.conn.execute(sa.select(roster.c.person_id).where(
            roster.c.session_id == session_id, roster.c.person_id == person_id))).first()
        if on_roster is None:
            raise Invalid("not_on_roster", "That person is not on this session's roster.", "person_id")
        tz = await org_zone(tx.conn, actor.org_id)
        name = f"{person.first_name} {person.last_name}".strip()
        facts = {"session_id": session_id, "session_title": session.title, "date": day_label(session.starts_at, tz),
                 "starts_at_local": hhmm(session.starts_at, tz), "starts_at": session.starts_at.isoformat(),
                 "person_id": person_id, "name": name, "concern_kind": kind, "note": note,
                 "raised_by": actor.name, "raised_by_user_id": actor.user_id, "raised_at": now.isoformat()}
        why = f'{actor.name} raised a {kind} concern about {name} during "{session.title}": {note}'
        recipients = await resolve_recipients(tx.conn, actor.org_id, ["dsl_chain"], session_id=session_id,
                                              person_id=person_id)
        alert_id = await raise_alert(tx, ctx, org_id=actor.org_id, rule_id="CONCERN", kind="concern",
                                     severity=AlertSeverity.SAFEGUARDING.value,
                                     title=f"Concern ({kind}): {name}", why=why, facts=facts, recipients=recipients,
                                     now=now, session_id=session_id, person_id=person_id)
        await watch_acknowledgement(tx, ctx, alert_id, actor.org_id, session.programme_id, person_id, now)
        await record(tx.conn, now, actor, "create", "concern", alert_id, person_id=person_id, session_id=session_id,
                     after={"kind": kind})
        return await _summary(tx.conn, alert_id)

    return await ctx.db.write(work)


async def watch_acknowledgement(tx: Tx, ctx: AppContext, alert_id: int, org_id: int, programme_id: int | None,
                                person_id: int | None, now: datetime) -> None:
    """Plans DSL-ACK for a safeguarding alert raised outside the watcher, by the programme's policy."""
    raw = None
    if programme_id is not None:
        raw = (await tx.conn.execute(sa.select(programmes.c.policy).where(programmes.c.id == programme_id))).scalar()
    try:
        policy = policy_of(raw)
    except ValueError:
        policy = policy_of(None)
    await schedule_ack(tx, ctx, alert_id, org_id, person_id, now, policy)


async def _acknowledge(tx: Tx, ctx: AppContext, actor: Principal, row: Any, now: datetime, text: str) -> None:
    await tx.conn.execute(sa.update(alerts).where(alerts.c.id == row.id, alerts.c.state == "open").values(
        state=AlertState.ACKNOWLEDGED.value, acknowledged_at=now, acknowledged_by=actor.user_id))
    await _settle_escalation(tx, ctx, row.id, now, "acknowledged", actor)
    await add_event(tx.conn, row.id, now, "acknowledged", text, {}, actor.user_id)
    await record(tx.conn, now, actor, "acknowledge", "alert", row.id, before={"state": row.state},
                 after={"state": "acknowledged"}, person_id=row.person_id, session_id=row.session_id)
    await publish_alert(tx, ctx, row.id, "alert_update", now)


async def _settle_escalation(tx: Tx, ctx: AppContext, alert_id: int, now: datetime, why: str,
                             actor: Principal) -> None:
    """Marks the alert's unfired DSL-ACK deadlines fired-as-cancelled, so nobody is escalated to any more."""
    settled = await tx.conn.execute(sa.update(deadlines).where(
        deadlines.c.alert_id == alert_id, deadlines.c.rule_id == "DSL-ACK", deadlines.c.fired_at.is_(None)).values(
        fired_at=now, claimed_until=None, result={"cancelled": why, "by": actor.user_id, "at": now.isoformat()}))
    if settled.rowcount:
        tx.after_commit(lambda: ctx.wake("watcher"))


async def _alert(conn: AsyncConnection, actor: Principal, alert_id: int) -> Any:
    row = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id, alerts.c.org_id == actor.org_id)))\
        .first()
    if row is None:
        raise NotFound("not_found", f"There is no alert {alert_id}.")
    return row


async def _summary(conn: AsyncConnection, alert_id: int) -> dict[str, Any]:
    row = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).one()
    return alert_summary(row._mapping)


async def timeline(conn: AsyncConnection, row: Any, now: datetime) -> dict[str, Any]:
    """Everything that happened around an alert, oldest first: session, windows, marks, alerts, calls,
    reports, tasks and its own steps; plus every delivery with its attempts."""
    entries: list[dict[str, Any]] = []
    names = {u.id: u.name for u in (await conn.execute(sa.select(users.c.id, users.c.name).where(
        users.c.org_id == row.org_id))).all()}

    def add(at: datetime | None, kind: str, text: str, actor: int | None = None, **data: Any) -> None:
        if at is not None:
            entries.append({"at": at.isoformat(), "kind": kind, "text": text,
                            "actor": names.get(actor, "") if actor else "", "data": data})

    same_case = _same_case(row)
    if row.session_id is not None:
        await _session_steps(conn, row, add, names)
    for e in (await conn.execute(sa.select(alert_events).where(alert_events.c.alert_id == row.id)
                                 .order_by(alert_events.c.id))).all():
        add(e.at, e.kind, e.text, e.actor_user_id, **(e.data or {}))
    for a in (await conn.execute(sa.select(alerts).where(alerts.c.id != row.id, *same_case(alerts)))).all():
        add(a.created_at, "other_alert", f"Alert ({a.rule_id}): {a.title} [{a.state}]", alert_id=a.id)
    follow_where = sa.or_(follow_ups.c.alert_id == row.id, sa.and_(*same_case(follow_ups))) \
        if row.person_id is not None else follow_ups.c.alert_id == row.id
    for f in (await conn.execute(sa.select(follow_ups).where(follow_where))).all():
        who = f" {f.contact_name}" if f.contact_name else ""
        note = f" Note: {f.note}" if f.note else ""
        add(f.logged_at, "follow_up", f"Contacted{who} by {f.method or 'phone'}: {f.outcome.replace('_', ' ')}."
            f"{note}", f.logged_by, outcome=f.outcome)
    report_ids: list[str] = []
    if row.person_id is not None:
        for r in (await conn.execute(sa.select(audit_log).where(
                audit_log.c.entity == "report", audit_log.c.person_id == row.person_id,
                audit_log.c.session_id == row.session_id if row.session_id else sa.true()))).all():
            after = r.after or {}
            report_ids += list(after.get("deliveries") or [])
            what = "Correction sent" if after.get("correction") else "Report sent"
            add(r.at, "report", f"{what} ({after.get('kind', '')}) to "
                f"{', '.join(after.get('recipients') or []) or 'nobody'}.", kind_of_report=after.get("kind"))
        for t in (await conn.execute(sa.select(tasks).where(*same_case(tasks)))).all():
            add(t.created_at, "task", f"Task: {t.title} [{t.state}]", task_id=t.id)
            add(t.done_at, "task_done", f"Task done: {t.title}", t.done_by, task_id=t.id)
    entries.sort(key=lambda e: e["at"])
    return {"timeline": entries, "deliveries": await _deliveries(conn, row.id, report_ids)}


def _same_case(row: Any) -> Any:
    """Rows about the same person in the same session (or the same person at all for alerts without one)."""
    def where(table: sa.Table) -> list[Any]:
        clauses = [table.c.person_id == row.person_id]
        if row.session_id is not None:
            clauses.append(table.c.session_id == row.session_id)
        if "org_id" in table.c:
            clauses.append(table.c.org_id == row.org_id)
        return clauses if row.person_id is not None else [sa.false()]
    return where


async def _session_steps(conn: AsyncConnection, row: Any, add: Any, names: dict[int, str]) -> None:
    session = (await conn.execute(sa.select(sessions).where(sessions.c.id == row.session_id))).first()
    if session is None:
        return
    add(session.starts_at, "session", f'The session "{session.title}" was due to begin.')
    for d in (await conn.execute(sa.select(deadlines).where(
            deadlines.c.session_id == row.session_id, deadlines.c.rule_id != COMPLETION,
            sa.or_(deadlines.c.person_id.is_(None), deadlines.c.person_id == row.person_id),
            sa.or_(deadlines.c.alert_id.is_(None), deadlines.c.alert_id == row.id)))).all():
        state = "fired" if d.fired_at else "pending"
        if d.fired_at and isinstance(d.result, dict) and d.result.get("cancelled"):
            state = f"stopped ({d.result['cancelled']})"
        add(d.due_at, "window", f"{d.rule_id} window closes [{state}]", rule_id=d.rule_id)
    if row.person_id is not None:
        for m in (await conn.execute(sa.select(mark_history).where(
                mark_history.c.session_id == row.session_id, mark_history.c.person_id == row.person_id)
                .order_by(mark_history.c.id))).all():
            code = f" ({m.code})" if m.code else ""
            reason = f", reason: {m.reason}" if m.reason else ""
            add(m.server_time, "mark", f"Marked {m.status.replace('_', ' ')}{code} via {m.source}{reason}.",
                m.actor_user_id)


async def _deliveries(conn: AsyncConnection, alert_id: int, report_ids: list[str]) -> list[dict[str, Any]]:
    where = deliveries.c.alert_id == alert_id
    if report_ids:
        where = sa.or_(where, deliveries.c.id.in_(report_ids))
    rows = (await conn.execute(sa.select(deliveries).where(where).order_by(deliveries.c.created_at))).all()
    attempts: dict[str, list[dict[str, Any]]] = {}
    if rows:
        for a in (await conn.execute(sa.select(delivery_attempts).where(
                delivery_attempts.c.delivery_id.in_([r.id for r in rows])).order_by(delivery_attempts.c.id))).all():
            attempts.setdefault(a.delivery_id, []).append({
                "attempt": a.attempt, "started_at": a.started_at.isoformat(), "duration_ms": round(a.duration_ms, 1),
                "outcome": a.outcome, "error": a.error})
    return [delivery_json(r, attempts.get(r.id, [])) for r in rows]


def delivery_json(r: Any, attempts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {**delivery_row_json(r), "attempt_log": attempts or []}
