"""The RuleContext a firing deadline needs, read in the firing transaction.

Each rule gets only the records it looks at (the AP-REPORT history for AP-REPORT, earlier
absences for EVENTS-CALL ...), so a firing costs a few indexed queries whatever the rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.domain.model import AlertState, MarkStatus, Role, SessionSnapshot, SessionStatus
from checkin.domain.rules import AlertStatus, Policy, RuleContext, TimelineEntry
from checkin.storage.tables import alerts, deadlines, marks, notices, organisations, roster, sessions, tasks, users


async def load_alert_status(conn: AsyncConnection, alert_id: int) -> tuple[AlertStatus, int | None, int] | None:
    """The alert a DSL-ACK deadline watches, with its session id and organisation id."""
    row = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).first()
    if row is None:
        return None
    status = AlertStatus(row.id, AlertState(row.state), row.created_at, row.title, row.rule_id, row.person_id,
                         row.escalation_level, row.acknowledged_at)
    return status, row.session_id, row.org_id


async def load_org(conn: AsyncConnection, org_id: int) -> Any:
    return (await conn.execute(sa.select(organisations).where(organisations.c.id == org_id))).one()


async def chain_names(conn: AsyncConnection, org: Any) -> tuple[str, ...]:
    """The safeguarding chain as recipient names, DSL first; without one, the DSL-role staff (as alerting does)."""
    chain: Sequence[Any] = [u for u in (org.safeguarding_chain or []) if str(u).isdigit()]
    if not chain:
        chain = (await conn.execute(sa.select(users.c.id).where(
            users.c.org_id == org.id, users.c.role == Role.DSL.value, users.c.active.is_(True))
            .order_by(users.c.id))).scalars().all()
    return tuple(f"user:{int(uid)}" for uid in chain)


async def load_rule_context(conn: AsyncConnection, *, rule_id: str, org: Any, policy: Policy, tz: ZoneInfo,
                            snapshot: SessionSnapshot | None, alert: AlertStatus | None) -> RuleContext:
    holidays = frozenset(date.fromisoformat(d) for d in (org.bank_holidays or []))
    chain = await chain_names(conn, org) if rule_id == "DSL-ACK" else ()
    ctx = RuleContext(policy=policy, tz=tz, la_ap_address=org.la_ap_address, bank_holidays=holidays, alert=alert,
                      safeguarding_chain=chain)
    if snapshot is None:
        return ctx
    session_id = snapshot.session.id
    if rule_id == "AP-REPORT":
        return replace(ctx, ap_reports_sent=await reports_sent(conn, session_id))
    if rule_id == "AP-DSL":
        return replace(ctx, earlier_steps=await earlier_steps(conn, session_id))
    if rule_id == "REBOOK-121":
        return replace(ctx, open_tasks=await open_tasks(conn, session_id))
    if rule_id == "EVENTS-CALL" and policy.events_call_pattern_only:
        ids = [p.id for p in snapshot.roster]
        return replace(ctx, previous_unexplained_absences=await previous_unexplained(conn, snapshot, ids))
    return ctx


async def reports_sent(conn: AsyncConnection, session_id: int) -> dict[int, dict[str, Any]]:
    """Per pupil, the facts of the AP report an earlier AP-REPORT firing of this session sent."""
    results = (await conn.execute(sa.select(deadlines.c.result).where(
        deadlines.c.session_id == session_id, deadlines.c.rule_id == "AP-REPORT",
        deadlines.c.fired_at.is_not(None)).order_by(deadlines.c.fired_at))).scalars().all()
    sent: dict[int, dict[str, Any]] = {}
    for result in results:
        for step in (result or {}).get("did", []):
            if step.get("type") == "report" and step.get("kind") == "ap_attendance" and step.get("facts"):
                sent[int(step["person_id"])] = step["facts"]
    return sent


async def earlier_steps(conn: AsyncConnection, session_id: int) -> dict[int, tuple[TimelineEntry, ...]]:
    """Alerts raised and tasks set for each person in this session, for the safeguarding timeline."""
    steps: dict[int, list[TimelineEntry]] = defaultdict(list)
    alert_rows = (await conn.execute(sa.select(alerts.c.person_id, alerts.c.created_at, alerts.c.title).where(
        alerts.c.session_id == session_id, alerts.c.person_id.is_not(None)))).all()
    for r in alert_rows:
        steps[r.person_id].append(TimelineEntry(r.created_at, f"Alert raised: {r.title}."))
    task_rows = (await conn.execute(sa.select(tasks.c.person_id, tasks.c.created_at, tasks.c.title).where(
        tasks.c.session_id == session_id, tasks.c.person_id.is_not(None)))).all()
    for r in task_rows:
        steps[r.person_id].append(TimelineEntry(r.created_at, f"Task set: {r.title}."))
    return {pid: tuple(sorted(entries, key=lambda e: e.at)) for pid, entries in steps.items()}


async def open_tasks(conn: AsyncConnection, session_id: int) -> frozenset[tuple[str, int | None]]:
    rows = (await conn.execute(sa.select(tasks.c.kind, tasks.c.person_id).where(
        tasks.c.session_id == session_id, tasks.c.state == "open"))).all()
    return frozenset((r.kind, r.person_id) for r in rows)


async def previous_unexplained(conn: AsyncConnection, snapshot: SessionSnapshot,
                               person_ids: list[int]) -> dict[int, int]:
    """Per person, earlier sessions of the same programme missed with no notice and no reason given."""
    if not person_ids:
        return {}
    info = snapshot.session
    unexplained = sa.or_(
        marks.c.person_id.is_(None),
        marks.c.status == MarkStatus.NO_CONTACT.value,
        sa.and_(marks.c.status == MarkStatus.ABSENT_UNAUTHORISED.value, sa.func.trim(marks.c.reason) == ""),
    )
    query = (
        sa.select(roster.c.person_id, sa.func.count())
        .join(sessions, sessions.c.id == roster.c.session_id)
        .outerjoin(marks, sa.and_(marks.c.session_id == roster.c.session_id, marks.c.person_id == roster.c.person_id))
        .outerjoin(notices, sa.and_(notices.c.session_id == roster.c.session_id,
                                    notices.c.person_id == roster.c.person_id))
        .where(roster.c.person_id.in_(person_ids), sessions.c.programme_id == info.programme_id,
               sessions.c.starts_at < info.starts_at, sessions.c.status == SessionStatus.SCHEDULED.value,
               notices.c.id.is_(None), unexplained)
        .group_by(roster.c.person_id)
    )
    return {int(pid): int(n) for pid, n in (await conn.execute(query)).all()}
