"""Who may fire which deadline: SKIP LOCKED claims on PostgreSQL, one lease-holding process on SQLite.

On PostgreSQL every instance runs a watcher; each firing transaction locks the due rows it
takes with `FOR UPDATE SKIP LOCKED`, so two instances never take the same row and neither
waits on the other. On SQLite every write transaction already excludes all others, but two
processes pointed at one file would still race to do the same work, so only the process
holding the "watcher" lease fires, and the firing transaction checks that it still holds it.
Leases run on the real clock: they are about processes staying alive, not the domain's time.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.services.completion_queue import RULE_ID as QUEUE_RULE
from checkin.storage.database import Database, Tx
from checkin.storage.prepared import Prepared
from checkin.storage.tables import deadlines, leases
from checkin.storage.types import UtcDateTime

LEASE_NAME = "watcher"


def new_holder() -> str:
    """A lease holder id: this host and process (so a successor can tell it died) and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_died(holder: str) -> bool:
    """True when `holder` was a process on this host that no longer runs (a crash, not a clean stop).

    SQLite lives on one machine, so a restarted app can take the lease of its dead predecessor at
    once instead of waiting for it to expire.
    """
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def wall_clock() -> datetime:
    return datetime.now(UTC)


def _pending() -> sa.ColumnElement[bool]:
    return deadlines.c.fired_at.is_(None)


def _not_held(now: Any) -> sa.ColumnElement[bool]:
    """Rows whose last failed attempt asked to wait (claimed_until) are left until then."""
    return sa.or_(deadlines.c.claimed_until.is_(None), deadlines.c.claimed_until <= now)


# Ordering by fired_at (NULL in every row selected) as well as due_at is what lets PostgreSQL read
# the (fired_at, due_at) index in order and stop at the first row: `IS NULL` is not an equality to
# its planner, so ORDER BY due_at alone sorts every pending row (100 ms at 100,000 rows, 0.1 ms so).
_ORDER = (deadlines.c.fired_at, deadlines.c.due_at)


def due_query(now: Any, limit: Any, *where: sa.ColumnElement[bool], due_by: Any = None,
              by_session: bool = False) -> sa.Select[Any]:
    """Unfired rows due by `due_by` (by default now), earliest first: a range scan of the (fired_at, due_at) index.

    `by_session` takes them session by session instead (the earliest session first), so that a
    unit's rows share programmes: queued re-evaluations cost a few reads per programme.
    """
    # "+ 0": ordered by the bare column, SQLite's plan scans the session_id index in order
    # through every pending row (EXPLAIN, 100,000 pending); as an expression it sorts only the
    # due rows the (fired_at, due_at) index range gives, a few thousand at most.
    order = (deadlines.c.session_id + 0, *_ORDER) if by_session else _ORDER
    due = deadlines.c.due_at <= (now if due_by is None else due_by)
    return (sa.select(deadlines).where(_pending(), due, _not_held(now), *where)
            .order_by(*order, deadlines.c.id).limit(limit))


def next_due_query(now: datetime) -> sa.Select[Any]:
    """The earliest unfired due time: one step down the (fired_at, due_at) index."""
    return sa.select(deadlines.c.due_at).where(_pending(), _not_held(now)).order_by(*_ORDER).limit(1)


def _claim(which: sa.ColumnElement[bool], *, by_session: bool) -> Prepared:
    """Due rows that `which` picks, up to `limit`; on PostgreSQL locked for the claiming transaction."""
    def make(dialect: str) -> sa.Select[Any]:
        query = due_query(sa.bindparam("now", type_=UtcDateTime()), sa.bindparam("limit", type_=sa.Integer()),
                          which, due_by=sa.bindparam("due_by", type_=UtcDateTime()), by_session=by_session)
        return query.with_for_update(skip_locked=True) if dialect == "postgresql" else query

    return Prepared(make)


# Every watcher pass claims both (prepared: storage/prepared.py says why).
_DUE = _claim(deadlines.c.rule_id != QUEUE_RULE, by_session=False)
_QUEUED = _claim(deadlines.c.rule_id == QUEUE_RULE, by_session=True)
_LEASE = Prepared(sa.select(leases.c.holder, leases.c.expires_at).where(leases.c.name == LEASE_NAME))


async def claim_due(conn: AsyncConnection, now: datetime, limit: int) -> list[Any]:
    """Due, unfired deadlines other than queued re-evaluations, earliest first."""
    return await _DUE.rows(conn, {"now": now, "due_by": now, "limit": limit})


async def claim_queued(conn: AsyncConnection, now: datetime, limit: int, due_by: datetime) -> list[Any]:
    """Queued re-evaluations due by `due_by`, session by session."""
    return await _QUEUED.rows(conn, {"now": now, "due_by": due_by, "limit": limit})


async def next_due(conn: AsyncConnection, now: datetime) -> datetime | None:
    due: datetime | None = (await conn.execute(next_due_query(now))).scalar()
    return due


class Lease:
    """The SQLite watcher lease: taken when free or expired, renewed while held, released on stop."""

    def __init__(self, db: Database, holder: str, ttl_seconds: float = 60.0) -> None:
        self.db = db
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_seconds)
        self.expires_at: datetime | None = None

    def fresh(self, margin: timedelta) -> bool:
        """Held with more than `margin` left, as far as this process last saw."""
        return self.expires_at is not None and self.expires_at - wall_clock() > margin

    async def acquire(self) -> bool:
        """Takes or renews the lease; False while another live process holds it."""
        async def work(tx: Tx) -> datetime | None:
            now = wall_clock()
            row = (await tx.conn.execute(sa.select(leases).where(leases.c.name == LEASE_NAME))).first()
            until = now + self.ttl
            if row is None:
                await tx.conn.execute(sa.insert(leases).values(name=LEASE_NAME, holder=self.holder, expires_at=until))
            elif row.holder == self.holder or row.expires_at <= now or holder_died(row.holder):
                await tx.conn.execute(sa.update(leases).where(leases.c.name == LEASE_NAME)
                                      .values(holder=self.holder, expires_at=until))
            else:
                return None
            return until

        self.expires_at = await self.db.write(work)
        return self.expires_at is not None

    async def release(self) -> None:
        async def work(tx: Tx) -> None:
            await tx.conn.execute(sa.delete(leases).where(leases.c.name == LEASE_NAME,
                                                          leases.c.holder == self.holder))

        self.expires_at = None
        await self.db.write(work)


async def holds_lease(conn: AsyncConnection, holder: str) -> bool:
    """Checked inside the firing transaction, so a process whose lease lapsed fires nothing."""
    row = await _LEASE.first(conn)
    return row is not None and row.holder == holder and row.expires_at > wall_clock()
