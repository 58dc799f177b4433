"""Completion re-evaluation after a mark, queued as a durable watcher deadline.

Re-evaluating a participant reads their whole programme, too much for every check-in's
transaction. Instead a mark leaves one pending COMPLETION row per person and programme (an
insert that does nothing when one is already pending); the watcher fires it moments later.
Being a row, it survives a crash, and a burst of marks costs one evaluation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.storage.tables import deadlines

RULE_ID = "COMPLETION"


def pending_key(person_id: int, programme_id: int) -> str:
    return f"{RULE_ID}:p{person_id}:g{programme_id}:pending"


async def queue_reevaluation(conn: AsyncConnection, org_id: int, session_id: int, person_id: int,
                             programme_id: int, now: datetime) -> None:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(insert(deadlines).values(
        org_id=org_id, session_id=session_id, rule_id=RULE_ID, person_id=person_id,
        key=pending_key(person_id, programme_id), due_at=now, created_at=now,
    ).on_conflict_do_nothing(index_elements=[deadlines.c.key]))
