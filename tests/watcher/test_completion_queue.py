"""A mark queues one durable completion re-evaluation, which the watcher fires."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import MarkStatus
from checkin.services.completion_queue import RULE_ID
from checkin.storage.tables import deadlines
from checkin.watcher.loop import Watcher
from tests.services.test_completion import alerts_for, mark, psw, states


async def _completion_rows(ctx: AppContext) -> list[tuple[str, bool]]:
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(deadlines.c.key, deadlines.c.fired_at)
                                   .where(deadlines.c.rule_id == RULE_ID).order_by(deadlines.c.id))).all()
    return [(r.key, r.fired_at is not None) for r in rows]


async def test_several_marks_queue_one_pending_reevaluation(ctx: AppContext) -> None:
    w = await psw(ctx)
    await mark(ctx, w.sessions["coaching"][0], w.person_id, MarkStatus.PRESENT)
    await mark(ctx, w.sessions["modules"][0], w.person_id, MarkStatus.PRESENT)
    rows = await _completion_rows(ctx)
    assert [fired for _, fired in rows] == [False]
    assert rows[0][0].endswith(":pending")


async def test_the_watcher_raises_the_crossing_alert_without_anyone_reevaluating(ctx: AppContext,
                                                                                  clock: DrivenClock) -> None:
    w = await psw(ctx)
    await mark(ctx, w.sessions["coaching"][0], w.person_id, MarkStatus.PRESENT)
    await mark(ctx, w.sessions["coaching"][1], w.person_id, MarkStatus.ABSENT_UNAUTHORISED)
    clock.now = clock.now + timedelta(days=400)
    await Watcher(ctx).fire_due_now()
    assert [a.rule_id for a in await alerts_for(ctx, w.person_id)] == ["PSW-MIN"]
    assert (await states(ctx, w.person_id, w.programme_id))["PSW-MIN:coaching"] == "at_risk"


async def test_a_fired_reevaluation_leaves_no_row_so_the_next_mark_queues_again(ctx: AppContext,
                                                                                clock: DrivenClock) -> None:
    w = await psw(ctx)
    await mark(ctx, w.sessions["coaching"][0], w.person_id, MarkStatus.PRESENT)
    clock.now = clock.now + timedelta(days=400)
    await Watcher(ctx).fire_due_now()
    evaluated = await _completion_rows(ctx)
    await mark(ctx, w.sessions["coaching"][1], w.person_id, MarkStatus.PRESENT)
    assert (evaluated, [fired for _, fired in await _completion_rows(ctx)]) == ([], [False])
    assert "overall" in await states(ctx, w.person_id, w.programme_id)


async def test_cancelling_a_session_keeps_its_safeguarding_escalation(ctx: AppContext) -> None:
    from checkin.services.deadlines import replan_session
    from checkin.storage.database import Tx
    from checkin.storage.tables import alerts, sessions

    w = await psw(ctx)
    session_id = w.sessions["coaching"][0]
    now = ctx.clock()

    async def work(tx: Tx) -> None:
        alert_id = (await tx.conn.execute(sa.insert(alerts).values(
            org_id=ctx.extras["org_id"], rule_id="AP-DSL", kind="safeguarding", severity="safeguarding",
            session_id=session_id, title="t", why="w", facts={}, created_at=now).returning(alerts.c.id))).scalar_one()
        await tx.conn.execute(sa.insert(deadlines).values(
            org_id=ctx.extras["org_id"], session_id=session_id, rule_id="DSL-ACK", alert_id=alert_id,
            key=f"DSL-ACK:s{session_id}:p-:a{alert_id}:1", due_at=now + timedelta(minutes=15), created_at=now))
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == session_id).values(status="cancelled"))
        await replan_session(tx, ctx, session_id, now)

    await ctx.db.write(work)
    async with ctx.db.read() as conn:
        left = (await conn.execute(sa.select(deadlines.c.rule_id).where(deadlines.c.session_id == session_id,
                                                                        deadlines.c.fired_at.is_(None)))).scalars()
        assert list(left) == ["DSL-ACK"]
