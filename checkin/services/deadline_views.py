"""Deadlines as managers see them: what is coming up per session, and what each fired one did."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from checkin.domain.principal import Principal
from checkin.services.completion_queue import RULE_ID as COMPLETION  # internal re-evaluations, not shown
from checkin.services.ownership import require
from checkin.storage.database import Database
from checkin.storage.tables import deadlines, people, sessions

STATES = ("upcoming", "fired")
_VERBS = {"mark": ("no-show mark", "marked {n} {noun}"), "alert": ("alert", "raised {n} {noun}"),
          "escalation": ("escalation", "made {n} {noun}"), "task": ("task", "set {n} {noun}"),
          "report": ("report", "sent {n} {noun}"), "deadline": ("follow-up deadline", "scheduled {n} {noun}")}


async def list_deadlines(db: Database, actor: Principal, *, session_id: int | None, state: str,
                         limit: int) -> list[dict[str, Any]]:
    """Upcoming deadlines soonest first, or fired ones latest first, in the actor's organisation."""
    query = (
        sa.select(deadlines, sessions.c.title.label("session_title"), sessions.c.starts_at.label("session_starts_at"),
                  people.c.first_name, people.c.last_name)
        .outerjoin(sessions, sessions.c.id == deadlines.c.session_id)
        .outerjoin(people, people.c.id == deadlines.c.person_id)
        .where(deadlines.c.org_id == actor.org_id, deadlines.c.rule_id != COMPLETION)
    )
    if state == "upcoming":
        # fired_at (NULL throughout) leads the ordering so PostgreSQL walks the pending index in order.
        query = query.where(deadlines.c.fired_at.is_(None)).order_by(deadlines.c.fired_at, deadlines.c.due_at,
                                                                     deadlines.c.id)
    else:
        query = query.where(deadlines.c.fired_at.is_not(None)).order_by(deadlines.c.fired_at.desc(),
                                                                          deadlines.c.id.desc())
    async with db.read() as conn:
        if session_id is not None:
            await require(conn, sessions, session_id, actor.org_id, "session")
            query = query.where(deadlines.c.session_id == session_id)
        rows = (await conn.execute(query.limit(limit))).all()
    return [deadline_json(r) for r in rows]


def deadline_json(r: Any) -> dict[str, Any]:
    result: dict[str, Any] = r.result or {}
    outcome = result.get("outcome")
    state = "fired" if r.fired_at is not None else ("retrying" if outcome == "error" else "upcoming")
    if outcome == "failed":
        state = "failed"
    elif r.fired_at is not None and "cancelled" in result:
        state = "cancelled"
    person = f"{r.first_name or ''} {r.last_name or ''}".strip() or None
    return {
        "id": r.id, "key": r.key, "rule_id": r.rule_id, "stage": _stage(r.key), "session_id": r.session_id,
        "session_title": r.session_title, "session_starts_at": _iso(r.session_starts_at),
        "person_id": r.person_id, "person_name": person, "alert_id": r.alert_id, "due_at": _iso(r.due_at),
        "fired_at": _iso(r.fired_at), "retry_after": _iso(r.claimed_until), "state": state, "outcome": outcome,
        "late_by_seconds": int(result.get("late_by_seconds") or 0), "fired_by": result.get("fired_by"),
        "summary": summary(result), "did": [{k: v for k, v in step.items() if k != "facts"}
                                            for step in result.get("did", [])],
    }


def summary(result: dict[str, Any]) -> str:
    """What the firing did, in a line ("Marked 1 no-show mark; raised 1 alert ...")."""
    outcome = result.get("outcome")
    if "cancelled" in result:
        return f"Cancelled before it fired: the alert was {result['cancelled']}."
    if outcome is None:
        return "Not fired yet."
    if outcome in ("error", "failed"):
        tail = "gave up" if outcome == "failed" else "will retry"
        return f"Failed ({result.get('error')}: {result.get('message', '')}); attempt {result.get('attempts')}, {tail}."
    if outcome == "skipped":
        return f"Skipped: {str(result.get('reason', '')).replace('_', ' ')}."
    counts = Counter(step.get("type") for step in result.get("did", []))
    parts = []
    for kind, (noun, phrase) in _VERBS.items():
        if counts[kind]:
            parts.append(phrase.format(n=counts[kind], noun=noun + ("s" if counts[kind] != 1 else "")))
    if not parts:
        return "Nothing to do: the rule's condition was not met."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _stage(key: str) -> int:
    tail = key.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()
