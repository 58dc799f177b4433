"""Firing the queued completion re-evaluations a unit claimed together: one read of each kind per programme.

A COMPLETION row is a queue entry (services.completion_queue), not a deadline of record: once
evaluated it is deleted, so the table keeps only what is still to do. The rows are grouped by
the programme their key names, and each group is re-evaluated at once
(services.completion.reevaluate_people: one read of the programme, one of the standings of
all its people, one of their stored states), all in one savepoint. Should that raise, the
savepoint rolls back and the runner fires the rows one by one, so one person whose evaluation
fails holds back only their own row, which then waits and retries as any failing deadline does.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.rules import DeadlineSpec
from checkin.domain.rules.firing import late_by_seconds
from checkin.services.completion import reevaluate_people
from checkin.services.completion_queue import programme_of
from checkin.storage.database import Tx
from checkin.storage.prepared import Prepared, in_ids
from checkin.storage.tables import deadlines, sessions

log = logging.getLogger(__name__)


def _delete_claimed(dialect: str) -> sa.Delete:
    """The claimed rows, by id, if still unfired.

    Without statistics SQLite's planner took `fired_at IS NULL` for the better index and read
    every pending deadline (100,000 in the watcher bench, 0.6 ms a unit in the check-in bench)
    to find the few named; marked likely() it is checked on the rows found by id instead.
    """
    unfired = deadlines.c.fired_at.is_(None)
    return sa.delete(deadlines).where(in_ids(deadlines.c.id, "ids", dialect),
                                      sa.func.likely(unfired) if dialect == "sqlite" else unfired)


_DELETE = Prepared(_delete_claimed)


async def programmes_of(conn: AsyncConnection, rows: Sequence[Any]) -> dict[int, int]:
    """The programme of each queued row (by row id): named in its key, else its session's (one read for all)."""
    found = {row.id: p for row in rows if (p := programme_of(row.key)) is not None}
    unnamed = {row.session_id for row in rows if row.id not in found and row.session_id is not None}
    if unnamed:
        of_session = {r.id: r.programme_id for r in (await conn.execute(
            sa.select(sessions.c.id, sessions.c.programme_id).where(sessions.c.id.in_(unnamed)))).all()}
        found |= {row.id: of_session[row.session_id] for row in rows
                  if row.id not in found and of_session.get(row.session_id) is not None}
    return found


def result_of(row: Any, outcome: str, now: datetime, **extra: Any) -> dict[str, Any]:
    spec = DeadlineSpec(row.rule_id, row.person_id, row.due_at)
    return {"outcome": outcome, **extra, "did": [], "at": now.isoformat(),
            "late_by_seconds": late_by_seconds(spec, now)}


async def fire_reevaluations(tx: Tx, ctx: AppContext, rows: Sequence[Any], now: datetime
                             ) -> dict[int, dict[str, Any]] | None:
    """Evaluates and deletes the claimed `rows` in one savepoint: each row's result, or None if that raised."""
    if not rows:
        return {}
    own = Tx(tx.conn)
    try:
        async with tx.conn.begin_nested():
            results = await _evaluate(own, ctx, rows, now)
    except Exception:
        log.exception("%d completion re-evaluations failed together; firing them one by one", len(rows))
        return None
    tx.hooks.extend(own.hooks)
    return results


async def _evaluate(tx: Tx, ctx: AppContext, rows: Sequence[Any], now: datetime) -> dict[int, dict[str, Any]]:
    # Deleted first, as the one-by-one path frees its key first: a mark committed from here on queues anew.
    ids = [row.id for row in rows]
    deleted = await _DELETE.run(tx.conn, {"ids": ids})
    if deleted != len(ids):
        raise RuntimeError(f"{len(ids) - deleted} of {len(ids)} claimed re-evaluations had gone")
    programmes = await programmes_of(tx.conn, rows)
    results = {row.id: result_of(row, "skipped", now, reason="session_gone") for row in rows
               if row.id not in programmes}
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        if row.id in programmes:
            groups[programmes[row.id]].append(row)
    for programme_id, queued in sorted(groups.items()):
        found = await reevaluate_people(tx, ctx, [row.person_id for row in queued], programme_id, now)
        results |= {row.id: result_of(row, "acted" if row.person_id in found else "nothing", now,
                                      together=len(rows)) for row in queued}
    return results
