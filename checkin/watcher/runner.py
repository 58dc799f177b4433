"""Firing claimed deadlines: read, judge, act and record, all in the one firing transaction.

For each claimed row the runner reads the session snapshot and the rule's context, calls the
rule's pure `evaluate`, carries out the actions it returns (marks, alerts, reports, tasks,
further deadlines) and sets `fired_at` and `result` (what it did). Everything is one unit of
work, so a deadline's effects and its being fired commit together or not at all: each
deadline fires exactly once. Each row runs in its own savepoint; a rule that raises rolls back
only its own effects, and its row waits (`claimed_until`) before it is tried again. Queued
completion re-evaluations are claimed apart, many to a unit, and fired together (see
watcher.reevaluations); they fall back to this one-by-one path should that fail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import NotFound
from checkin.domain.model import SessionSnapshot
from checkin.domain.rules import DeadlineSpec, Policy, RuleConfig, evaluate_deadline
from checkin.domain.rules.dsl_ack import evaluate_dsl_ack
from checkin.domain.rules.firing import late_by_seconds
from checkin.services import completion_queue
from checkin.services.completion import reevaluate_person
from checkin.services.completion_queue import COALESCE_SECONDS
from checkin.services.snapshots import load_session_context, load_snapshot
from checkin.storage.database import Tx
from checkin.storage.tables import deadlines
from checkin.watcher.claim import claim_due, claim_queued, holds_lease
from checkin.watcher.effects import Firing as FiringScope
from checkin.watcher.effects import apply_actions
from checkin.watcher.reevaluations import fire_reevaluations, programmes_of
from checkin.watcher.rule_context import load_alert_status, load_org, load_rule_context

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
QUEUE_LIMIT = 50
"""Queued completion re-evaluations a unit takes, besides its `limit` deadlines (loop.BATCH_SIZE).

They are claimed apart because they cost so differently: fired together they come to a few
statements per programme whatever the number of people, while each deadline is ~50 statements
of its own. The unit size is a trade between cost and stall. On SQLite a unit holds the one
writer, so every check-in behind it waits for it: on the check-in bench's world a unit of 500
took ~90 ms alone and 200+ ms under load (check-in p99 ~500 ms), one of 50 (claimed session by
session, so they share programmes) ~20 ms alone, about 0.35 ms a person against 5 ms one by one.
"""
RETRY_AFTER = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))
# A safeguarding alert outside any session still escalates, on the catalogue's defaults.
SESSIONLESS_POLICY = Policy(rules=(RuleConfig.default("DSL-ACK"),))


class AlreadyFired(RuntimeError):
    """The row was fired by someone else between claim and commit (a claim bug, never expected)."""


@dataclass(frozen=True)
class Fired:
    """What one claimed row came to: fired (with its result) or failed (and will be retried)."""

    deadline_id: int
    rule_id: str
    fired: bool
    result: dict[str, Any]


@dataclass(frozen=True)
class Pass:
    """One firing unit: how many rows it claimed, what became of each, and whether a claim came back full."""

    claimed: int
    fired: list[Fired]
    lease_lost: bool = False
    full: bool = False


def stage_of(key: str) -> int:
    """The escalation stage is the key's last segment (see services.deadlines.deadline_key)."""
    tail = key.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def spec_of(row: Any) -> DeadlineSpec:
    return DeadlineSpec(row.rule_id, row.person_id, row.due_at, stage_of(row.key), row.alert_id)


async def fire_due(tx: Tx, ctx: AppContext, now: datetime, *, limit: int, holder: str, lease: bool,
                   queue_limit: int = QUEUE_LIMIT) -> Pass:
    """Claims up to `limit` due deadlines and `queue_limit` queued re-evaluations and fires them.

    With `lease`, only while `holder` holds it. The queued ones are taken even up to
    COALESCE_SECONDS short of due: they wait only to be evaluated together, and a unit that
    runs anyway is the one to do it, rather than another unit a moment later.
    """
    if lease and not await holds_lease(tx.conn, holder):
        return Pass(0, [], lease_lost=True)
    rows = await claim_due(tx.conn, now, limit)
    queued = await claim_queued(tx.conn, now, queue_limit, now + timedelta(seconds=COALESCE_SECONDS))
    fired = [await fire_claimed(tx, ctx, row, now, holder) for row in rows]
    together = await fire_reevaluations(tx, ctx, queued, now)
    if together is None:
        fired += [await fire_claimed(tx, ctx, row, now, holder) for row in queued]
    else:
        fired += [Fired(row.id, row.rule_id, True, together[row.id] | {"fired_by": holder}) for row in queued]
    return Pass(len(rows) + len(queued), fired, full=len(rows) >= limit or len(queued) >= queue_limit)


async def fire_claimed(tx: Tx, ctx: AppContext, row: Any, now: datetime, holder: str) -> Fired:
    """Fires one claimed row in a savepoint; its after-commit hooks join the unit only if it succeeded."""
    own = Tx(tx.conn)
    try:
        async with tx.conn.begin_nested():
            result = await run_rule(own, ctx, row, now)
            result["fired_by"] = holder
            if row.rule_id != completion_queue.RULE_ID:  # a queue entry is deleted instead (_reevaluate)
                done = await tx.conn.execute(sa.update(deadlines).where(
                    deadlines.c.id == row.id, deadlines.c.fired_at.is_(None)).values(
                    fired_at=now, claimed_until=None, result=result))
                if done.rowcount != 1:
                    raise AlreadyFired(f"deadline {row.id} was already fired")
    except Exception as exc:
        return await _failed(tx, row, now, holder, exc)
    tx.hooks.extend(own.hooks)
    return Fired(row.id, row.rule_id, True, result)


async def _failed(tx: Tx, row: Any, now: datetime, holder: str, exc: Exception) -> Fired:
    """Records the failure on the row; after MAX_ATTEMPTS it is fired as failed so it stops retrying."""
    log.exception("deadline %s (%s) failed", row.id, row.key, exc_info=exc)
    attempts = int((row.result or {}).get("attempts", 0)) + 1
    gave_up = attempts >= MAX_ATTEMPTS
    result = {"outcome": "failed" if gave_up else "error", "error": type(exc).__name__,
              "message": str(exc)[:500], "attempts": attempts, "at": now.isoformat(), "fired_by": holder}
    if isinstance(exc, AlreadyFired):
        return Fired(row.id, row.rule_id, False, result)  # someone else's firing stands; leave the row be
    values: dict[str, Any] = {"result": result}
    if gave_up:
        values.update(fired_at=now, claimed_until=None)
        if row.rule_id == completion_queue.RULE_ID:
            values["key"] = _freed(row)  # kept as the record of the failure; the next mark queues anew
    else:
        values["claimed_until"] = now + RETRY_AFTER[min(attempts, len(RETRY_AFTER)) - 1]
    async with tx.conn.begin_nested():
        await tx.conn.execute(sa.update(deadlines).where(deadlines.c.id == row.id,
                                                         deadlines.c.fired_at.is_(None)).values(**values))
    return Fired(row.id, row.rule_id, gave_up, result)


async def run_rule(tx: Tx, ctx: AppContext, row: Any, now: datetime) -> dict[str, Any]:
    """Reads what the rule looks at, evaluates it and applies its actions; returns the result record."""
    conn = tx.conn
    spec = spec_of(row)
    if row.rule_id == completion_queue.RULE_ID:
        return await _reevaluate(tx, ctx, row, now, spec)
    alert = None
    session_id: int | None = row.session_id
    if row.alert_id is not None:
        found = await load_alert_status(conn, row.alert_id)
        if found is None:
            return _skipped("alert_gone", now, spec)
        alert, alert_session, _ = found
        session_id = session_id or alert_session
    org = await load_org(conn, row.org_id)
    snapshot: SessionSnapshot | None = None
    sc = None
    if session_id is not None:
        try:
            sc = await load_session_context(conn, session_id)
        except NotFound:
            return _skipped("session_gone", now, spec)
        snapshot = await load_snapshot(conn, sc.info)
        policy, tz = sc.policy, sc.tz
    elif spec.rule_id == "DSL-ACK":
        policy, tz = SESSIONLESS_POLICY, ZoneInfo(org.timezone or "Europe/London")
    else:
        return _skipped("no_session", now, spec)
    context = await load_rule_context(conn, rule_id=spec.rule_id, org=org, policy=policy, tz=tz,
                                      snapshot=snapshot, alert=alert)
    if snapshot is None:
        rule = policy.rule("DSL-ACK") or RuleConfig.default("DSL-ACK", enabled=False)
        actions = evaluate_dsl_ack(rule, None, spec, now, context)
    else:
        actions = evaluate_deadline(snapshot, spec, now, context)
    scope = FiringScope(tx, ctx, row.org_id, session_id, row.id, row.key, policy, sc.info if sc else None, now)
    did = await apply_actions(scope, actions)
    return {"outcome": "acted" if did else "nothing", "did": did, "at": now.isoformat(),
            "late_by_seconds": late_by_seconds(spec, now)}


async def _reevaluate(tx: Tx, ctx: AppContext, row: Any, now: datetime, spec: DeadlineSpec) -> dict[str, Any]:
    """Re-evaluates one participant's completion and deletes the queue entry (first, so the next mark queues anew)."""
    gone = await tx.conn.execute(sa.delete(deadlines).where(deadlines.c.id == row.id, deadlines.c.fired_at.is_(None)))
    if gone.rowcount != 1:
        raise AlreadyFired(f"queued re-evaluation {row.id} was already fired")
    programme_id = (await programmes_of(tx.conn, [row])).get(row.id)
    if programme_id is None:
        return _skipped("session_gone", now, spec)
    standing = await reevaluate_person(tx, ctx, row.person_id, programme_id, now)
    return {"outcome": "acted" if standing else "nothing", "did": [], "at": now.isoformat(),
            "late_by_seconds": late_by_seconds(spec, now)}


def _freed(row: Any) -> str:
    return f"{row.key.removesuffix(':pending')}:{row.id}"


def _skipped(reason: str, now: datetime, spec: DeadlineSpec) -> dict[str, Any]:
    return {"outcome": "skipped", "reason": reason, "did": [], "at": now.isoformat(),
            "late_by_seconds": late_by_seconds(spec, now)}
