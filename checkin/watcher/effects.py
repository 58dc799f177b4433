"""Carrying out a rule's actions inside the firing transaction, and saying what was done.

Each action goes through the service that owns it (record_mark, raise_alert, escalate_alert,
send_report, write_deadline); tasks the rules ask for are written here. The returned steps are
the deadline's `result["did"]`: what the deadlines page shows and what a later AP-REPORT firing
reads back as the reports already sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import AlertSeverity, MarkSource, MarkStatus, SessionInfo
from checkin.domain.principal import system
from checkin.domain.rules import (
    Action,
    CreateTask,
    DeadlineSpec,
    EscalateAlert,
    MarkNoShow,
    Policy,
    RaiseAlert,
    ScheduleDeadline,
    SendReport,
)
from checkin.services.ack_deadlines import schedule_ack
from checkin.services.alerting import escalate_alert, raise_alert, resolve_recipients, send_report
from checkin.services.deadlines import write_deadline
from checkin.services.marking import record_mark
from checkin.storage import events
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import tasks


@dataclass(frozen=True)
class Firing:
    """The deadline being fired and the transaction its effects are written in."""

    tx: Tx
    ctx: AppContext
    org_id: int
    session_id: int | None
    deadline_id: int
    key: str
    policy: Policy
    session: SessionInfo | None
    now: datetime

    @property
    def actor_label(self) -> str:
        return f"watcher ({self.key})"


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def apply_actions(f: Firing, actions: list[Action]) -> list[dict[str, Any]]:
    """Applies `actions` in order; a task follows the alert raised for the same person in this firing."""
    did: list[dict[str, Any]] = []
    alert_for: dict[int | None, int] = {}
    for action in actions:
        if isinstance(action, MarkNoShow):
            did.append(await _mark(f, action))
        elif isinstance(action, RaiseAlert):
            steps = await _alert(f, action)
            alert_for[action.person_id] = int(steps[0]["alert_id"])
            did += steps
        elif isinstance(action, EscalateAlert):
            did.append(await _escalate(f, action))
        elif isinstance(action, CreateTask):
            did.append(await _task(f, action, alert_for.get(action.person_id)))
        elif isinstance(action, SendReport):
            did.append(await _report(f, action, alert_for.get(action.person_id)))
        elif isinstance(action, ScheduleDeadline):
            did.append(await _schedule(f, action))
        else:  # pragma: no cover - Action is a closed union
            raise TypeError(f"unknown action {action!r}")
    return did


async def _mark(f: Firing, a: MarkNoShow) -> dict[str, Any]:
    if f.session_id is None:
        raise ValueError("a no-show mark needs a session")
    result = await record_mark(
        f.tx, f.ctx, session_id=f.session_id, person_id=a.person_id, status=MarkStatus.NO_CONTACT, code=a.code,
        source=MarkSource.WATCHER, actor=system(f.org_id), now=f.now, nonce=f"deadline:{f.deadline_id}:p{a.person_id}",
        device="watcher", reason=a.reason)
    return {"type": "mark", "person_id": a.person_id, "status": MarkStatus.NO_CONTACT.value, "code": a.code,
            "history_id": result.history_id, "changed": result.changed, "duplicate": result.duplicate}


async def _recipients(f: Firing, names: tuple[str, ...], person_id: int | None) -> list[Any]:
    return await resolve_recipients(f.tx.conn, f.org_id, names, session_id=f.session_id, person_id=person_id)


async def _alert(f: Firing, a: RaiseAlert) -> list[dict[str, Any]]:
    recipients = await _recipients(f, a.recipients, a.person_id)
    alert_id = await raise_alert(
        f.tx, f.ctx, org_id=f.org_id, rule_id=a.rule_id, kind=a.kind, severity=a.severity.value, title=a.title,
        why=a.why, facts=a.facts, recipients=recipients, now=f.now, session_id=f.session_id, person_id=a.person_id,
        late_by_seconds=a.late_by_seconds)
    steps: list[dict[str, Any]] = [{
        "type": "alert", "alert_id": alert_id, "rule_id": a.rule_id, "kind": a.kind, "severity": a.severity.value,
        "person_id": a.person_id, "title": a.title, "recipients": len(recipients),
        "late_by_seconds": a.late_by_seconds}]
    if a.severity is AlertSeverity.SAFEGUARDING:
        due = await schedule_ack(f.tx, f.ctx, alert_id, f.org_id, a.person_id, f.now, f.policy)
        if due is not None:
            steps.append({"type": "deadline", "rule_id": "DSL-ACK", "alert_id": alert_id, "person_id": a.person_id,
                          "stage": 1, "due_at": iso(due)})
    return steps


async def _escalate(f: Firing, a: EscalateAlert) -> dict[str, Any]:
    recipients = await _recipients(f, a.recipients, None)
    ids = await escalate_alert(f.tx, f.ctx, alert_id=a.alert_id, rule_id=a.rule_id, level=a.level,
                               recipients=recipients, why=a.why, facts=a.facts, now=f.now,
                               late_by_seconds=a.late_by_seconds)
    return {"type": "escalation", "alert_id": a.alert_id, "level": a.level, "recipients": len(recipients),
            "deliveries": len(ids), "late_by_seconds": a.late_by_seconds}


async def _task(f: Firing, a: CreateTask, alert_id: int | None) -> dict[str, Any]:
    """A task for the first recipient named (a role such as tutor or events_team), linked to its alert."""
    role = a.recipients[0] if a.recipients else ""
    user_id = f.session.tutor_ids[0] if role == "tutor" and f.session and f.session.tutor_ids else None
    facts = {**a.facts, "rule_id": a.rule_id, "recipients": list(a.recipients), "deadline_id": f.deadline_id}
    values = dict(org_id=f.org_id, kind=a.kind, session_id=f.session_id, person_id=a.person_id, alert_id=alert_id,
                  title=a.title[:300], assigned_role=role[:32], assigned_user_id=user_id, facts=facts,
                  due_at=a.due_at, state="open", created_at=f.now)
    task_id = int((await f.tx.conn.execute(sa.insert(tasks).values(**values).returning(tasks.c.id))).scalar_one())
    await record(f.tx.conn, f.now, None, "create", "task", task_id, org_id=f.org_id, person_id=a.person_id,
                 session_id=f.session_id, actor_label=f.actor_label,
                 after={"kind": a.kind, "title": a.title, "assigned_role": role, "due_at": iso(a.due_at)})
    channel = events.org_channel(f.org_id)
    await events.emit(f.tx, f.ctx.hub.publish, channel, "task", {
        "id": task_id, "kind": a.kind, "title": a.title, "session_id": f.session_id, "person_id": a.person_id,
        "alert_id": alert_id, "assigned_role": role, "assigned_user_id": user_id, "due_at": iso(a.due_at),
        "state": "open"}, f.now)
    return {"type": "task", "task_id": task_id, "kind": a.kind, "person_id": a.person_id, "title": a.title,
            "assigned_role": role}


async def _report(f: Firing, a: SendReport, alert_id: int | None) -> dict[str, Any]:
    recipients = await _recipients(f, a.recipients, a.person_id)
    facts = {**a.facts, "rule_id": a.rule_id} if a.rule_id else dict(a.facts)
    ids = await send_report(f.tx, f.ctx, org_id=f.org_id, kind=a.kind, subject_facts=facts, recipients=recipients,
                            now=f.now, session_id=f.session_id, person_id=a.person_id, alert_id=alert_id)
    return {"type": "report", "kind": a.kind, "person_id": a.person_id, "correction": a.correction,
            "recipients": len(recipients), "deliveries": len(ids), "facts": a.facts}


async def _schedule(f: Firing, a: ScheduleDeadline) -> dict[str, Any]:
    spec = DeadlineSpec(a.rule_id, a.person_id, a.due_at, a.stage, a.alert_id)
    await write_deadline(f.tx.conn, f.org_id, f.session_id, spec, f.now)
    ctx = f.ctx
    f.tx.after_commit(lambda: ctx.wake("watcher"))
    return {"type": "deadline", "rule_id": a.rule_id, "person_id": a.person_id, "alert_id": a.alert_id,
            "stage": a.stage, "due_at": iso(a.due_at)}
