"""Completion re-evaluation after a mark, queued as a durable watcher deadline.

Re-evaluating a participant reads their whole programme, too much for every check-in's
transaction. Instead a mark in a programme with completion requirements leaves one pending
COMPLETION row per person and programme (an insert that does nothing when one is already
pending; see `evaluates` for a programme without them); the watcher fires it moments later,
together with the others pending (see watcher.reevaluations), and deletes it. Being a row, it
survives a crash, and a burst of marks costs one evaluation.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.domain.completion import stored_requirements
from checkin.storage.prepared import Prepared, dialect_insert
from checkin.storage.tables import deadlines

RULE_ID = "COMPLETION"
QUEUED = "watcher-queue"  # the waker to call after a commit that queued one (ctx.wake)
COALESCE_SECONDS = 2.0
"""How long a queued re-evaluation waits before it is due.

A burst of marks (a session's QR check-ins, a tutor marking a register) then becomes one
watcher pass that evaluates everyone it touched with a few reads per programme, instead of a
pass per mark reading the programme each time. Completion standings move over days and
weeks, so a few seconds' delay is immaterial; the first mark's time sets the due time (later
marks find the row already there), so steady marking cannot hold an evaluation back.
"""
_PROGRAMME = re.compile(r":g(\d+):pending$")


def pending_key(person_id: int, programme_id: int) -> str:
    return f"{RULE_ID}:p{person_id}:g{programme_id}:pending"


def programme_of(key: str) -> int | None:
    """The programme a pending key names, or None for a key not made by pending_key."""
    found = _PROGRAMME.search(key)
    return int(found.group(1)) if found else None


def evaluates(requirements_json: Any) -> bool:
    """Whether a programme with these stored requirements has anything to re-evaluate after a mark.

    With no requirements a standing has no state to cross and no alert to raise, so a mark
    queues nothing (an events programme's check-ins are the busiest path of all). They are read
    as the evaluation itself reads them, unreadable ones as none.
    """
    return bool(stored_requirements(requirements_json))


def _queue_insert(dialect: str) -> Any:
    stmt = dialect_insert(dialect, deadlines).values(rule_id=RULE_ID)
    return stmt.on_conflict_do_nothing(index_elements=[deadlines.c.key])


_QUEUE = Prepared(_queue_insert)  # every changed mark runs it (storage/prepared.py says why it is prepared)


async def queue_reevaluation(conn: AsyncConnection, org_id: int, session_id: int, person_id: int,
                             programme_id: int, now: datetime) -> None:
    await _QUEUE.run(conn, {"org_id": org_id, "session_id": session_id, "person_id": person_id,
                            "key": pending_key(person_id, programme_id),
                            "due_at": now + timedelta(seconds=COALESCE_SECONDS), "created_at": now})
