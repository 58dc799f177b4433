"""Numbered live events: every push is first a row, so a client can always catch up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.storage.prepared import Prepared, dialect_insert
from checkin.storage.tables import channels, events

if TYPE_CHECKING:
    from checkin.storage.database import Tx

Publish = Callable[[str, dict[str, Any]], Any]

NOTIFY_CHANNEL = "checkin_events"


def session_channel(session_id: int) -> str:
    return f"session:{session_id}"


def org_channel(org_id: int) -> str:
    return f"org:{org_id}"


def _next_seq(dialect: str) -> Any:
    stmt = dialect_insert(dialect, channels).values(name=sa.bindparam("channel", type_=sa.String()), last_seq=1)
    return stmt.on_conflict_do_update(index_elements=[channels.c.name],
                                      set_={"last_seq": channels.c.last_seq + 1}).returning(channels.c.last_seq)


# Every mark and check-in appends an event (prepared.py says why these are prepared).
_NEXT_SEQ = Prepared(_next_seq)
_INSERT_EVENT = Prepared(sa.insert(events))
_NOTIFY = sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, sa.bindparam("payload", type_=sa.Text())))


async def append(conn: AsyncConnection, channel: str, type_: str, payload: dict[str, Any],
                 now: datetime) -> dict[str, Any]:
    """Writes the next numbered event of `channel` and returns it as it will be pushed."""
    postgres = conn.dialect.name == "postgresql"
    seq = await _NEXT_SEQ.scalar(conn, {"channel": channel})
    await _INSERT_EVENT.run(conn, {"channel": channel, "seq": seq, "type": type_, "payload": payload,
                                   "created_at": now})
    if postgres:
        # Delivered at commit, so other instances learn of the row only once it is readable.
        await conn.execute(_NOTIFY, {"payload": f"{channel} {seq}"})
    return {"type": type_, "seq": seq, "channel": channel, "data": payload}


async def emit(tx: Tx, publish: Publish, channel: str, type_: str, payload: dict[str, Any],
               now: datetime) -> dict[str, Any]:
    """Appends the next numbered event of `channel` in `tx` and publishes it once `tx` has committed."""
    event = await append(tx.conn, channel, type_, payload, now)
    tx.after_commit(lambda: publish(channel, event))
    return event


async def last_seq(conn: AsyncConnection, channel: str) -> int:
    seq = (await conn.execute(sa.select(channels.c.last_seq).where(channels.c.name == channel))).scalar()
    return int(seq or 0)


async def since(conn: AsyncConnection, channel: str, after: int, limit: int) -> list[dict[str, Any]] | None:
    """Events after `after`, oldest first; None when more than `limit` were missed."""
    rows = (await conn.execute(
        sa.select(events.c.seq, events.c.type, events.c.payload)
        .where(events.c.channel == channel, events.c.seq > after)
        .order_by(events.c.seq).limit(limit + 1)
    )).all()
    if len(rows) > limit:
        return None
    if rows and rows[0].seq != after + 1:
        return None  # the rows between were pruned
    return [{"type": r.type, "seq": r.seq, "channel": channel, "data": r.payload} for r in rows]
