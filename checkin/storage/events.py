"""Numbered live events: every push is first a row, so a client can always catch up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.storage.tables import channels, events


NOTIFY_CHANNEL = "checkin_events"


def session_channel(session_id: int) -> str:
    return f"session:{session_id}"


def org_channel(org_id: int) -> str:
    return f"org:{org_id}"


async def append(conn: AsyncConnection, channel: str, type_: str, payload: dict[str, Any],
                 now: datetime) -> dict[str, Any]:
    """Writes the next numbered event of `channel` and returns it as it will be pushed."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(channels).values(name=channel, last_seq=1)
    stmt = stmt.on_conflict_do_update(index_elements=[channels.c.name],
                                      set_={"last_seq": channels.c.last_seq + 1})
    seq = (await conn.execute(stmt.returning(channels.c.last_seq))).scalar_one()
    await conn.execute(sa.insert(events).values(channel=channel, seq=seq, type=type_, payload=payload,
                                                created_at=now))
    if conn.dialect.name == "postgresql":
        # Delivered at commit, so other instances learn of the row only once it is readable.
        await conn.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, f"{channel} {seq}")))
    return {"type": type_, "seq": seq, "channel": channel, "data": payload}


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
