"""The queued completion re-evaluations of a pass are fired together, programme by programme, and leave no rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import MarkStatus
from checkin.services.completion_queue import COALESCE_SECONDS, RULE_ID
from checkin.services.programme_presets import PROGRAMME_PRESETS
from checkin.storage.database import Tx
from checkin.storage.tables import completion_states, deadlines, roster
from checkin.watcher.loop import Watcher
from checkin.watcher.reevaluations import _DELETE
from checkin.watcher.runner import MAX_ATTEMPTS
from tests import factories
from tests.conftest import both_backends
from tests.services.test_completion import World, alerts_for, enrol, mark, psw, states, world


async def _queue_rows(ctx: AppContext) -> list[Any]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(sa.select(deadlines).where(deadlines.c.rule_id == RULE_ID)
                                        .order_by(deadlines.c.id))).all())


async def _participants(ctx: AppContext, w: World, count: int) -> list[int]:
    """The world's own participant and `count` more, each enrolled and on every session of the programme."""
    added = [await factories.person(ctx, f"Extra{i}", f"P{w.programme_id}") for i in range(count)]
    for person_id in added:
        await enrol(ctx, person_id, w.programme_id)

    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(roster), [dict(session_id=s, person_id=p, added_at=ctx.clock())
                                                  for ids in w.sessions.values() for s in ids for p in added])

    await ctx.db.write(work)
    return [w.person_id, *added]


async def _unknown_state(ctx: AppContext, person_id: int, programme_id: int) -> None:
    """A stored status this version does not know (a hand edit, an older release): judging a crossing from it raises."""
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(completion_states).values(
            person_id=person_id, programme_id=programme_id, requirement="PSW-MIN:coaching", status="exempt",
            updated_at=ctx.clock()))

    await ctx.db.write(work)


async def _two_programmes(ctx: AppContext) -> tuple[World, list[int], World, list[int]]:
    """PSW and NPQ, three participants each, each absent from their programme's first session (a queued row each)."""
    a = await psw(ctx)
    b = await world(ctx, "npq_reformed", {"module": 6})
    a_people, b_people = await _participants(ctx, a, 2), await _participants(ctx, b, 2)
    for people, first in ((a_people, a.sessions["coaching"][0]), (b_people, b.sessions["module"][0])):
        for person_id in people:
            await mark(ctx, first, person_id, MarkStatus.ABSENT_UNAUTHORISED)
    return a, a_people, b, b_people


@both_backends
async def test_one_pass_evaluates_everyone_queued_in_two_programmes_and_leaves_no_queue_rows(
        ctx: AppContext, clock: DrivenClock) -> None:
    a, a_people, b, b_people = await _two_programmes(ctx)
    clock.now = clock.now + timedelta(days=400)
    fired = await Watcher(ctx).fire_due_now()
    assert (fired, await _queue_rows(ctx)) == (6, [])
    for w, people, rule in ((a, a_people, "PSW-MIN"), (b, b_people, "NPQ-90")):
        for person_id in people:
            assert (await states(ctx, person_id, w.programme_id))["overall"] == "at_risk"
            assert {x.rule_id for x in await alerts_for(ctx, person_id)} == {rule}


@both_backends
async def test_a_person_whose_evaluation_fails_holds_back_only_their_own_row(
        ctx: AppContext, clock: DrivenClock) -> None:
    a, a_people, b, b_people = await _two_programmes(ctx)
    bad = a_people[1]
    await _unknown_state(ctx, bad, a.programme_id)
    clock.now = clock.now + timedelta(days=400)
    assert await Watcher(ctx).fire_due_now() == 5
    [left] = await _queue_rows(ctx)
    assert (left.person_id, left.fired_at, left.result["outcome"], left.result["attempts"]) == (bad, None, "error", 1)
    assert left.claimed_until > clock()
    assert await states(ctx, bad, a.programme_id) == {"PSW-MIN:coaching": "exempt"}
    for w, people in ((a, a_people), (b, b_people)):
        for person_id in people:
            if person_id != bad:
                assert (await states(ctx, person_id, w.programme_id))["overall"] == "at_risk"


@both_backends
async def test_a_pass_costs_the_same_statements_for_eight_people_as_for_two(
        ctx: AppContext, clock: DrivenClock) -> None:
    watcher = Watcher(ctx)
    await watcher.fire_due_now()  # takes the SQLite lease now, so that the two passes measured are alike

    async def statements_to_fire(people: int) -> int:
        programme_id = await factories.programme(ctx, name=f"Residential {people}", code_set="plain", preset="",
                                                 requirements=PROGRAMME_PRESETS["coaching"].requirements_list())
        ids = [await factories.person(ctx, f"Pat{i}", f"R{people}") for i in range(people)]
        session_id = await factories.session(ctx, programme_id, clock() - timedelta(hours=1), person_ids=tuple(ids))
        for person_id in ids:
            await mark(ctx, session_id, person_id, MarkStatus.PRESENT, now=clock())
        clock.now = clock.now + timedelta(seconds=COALESCE_SECONDS)
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        engine = ctx.db.writer_engine.sync_engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert await watcher.fire_due_now() == people
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    assert await statements_to_fire(2) == await statements_to_fire(8)


async def test_a_queued_reevaluation_waits_to_gather_a_burst_then_fires(ctx: AppContext, clock: DrivenClock) -> None:
    w = await psw(ctx)
    watcher = Watcher(ctx)
    await mark(ctx, w.sessions["coaching"][0], w.person_id, MarkStatus.PRESENT, now=clock())
    waited = await watcher.step()
    queued = await _queue_rows(ctx)
    clock.now = clock.now + timedelta(seconds=waited)
    await watcher.step()
    assert (waited, len(queued), watcher.stats.reevaluated, await _queue_rows(ctx)) == (COALESCE_SECONDS, 1, 1, [])


async def test_a_queued_row_whose_key_names_no_programme_is_evaluated_in_its_sessions(
        ctx: AppContext, clock: DrivenClock) -> None:
    w = await psw(ctx)
    session_id = w.sessions["coaching"][0]

    async def hand_made(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(deadlines).values(
            org_id=ctx.extras["org_id"], session_id=session_id, rule_id=RULE_ID, person_id=w.person_id,
            key=f"{RULE_ID}:p{w.person_id}:s{session_id}", due_at=clock(), created_at=clock()))

    await ctx.db.write(hand_made)
    fired = await Watcher(ctx).fire_due_now()
    assert (fired, await _queue_rows(ctx)) == (1, [])
    assert "overall" in await states(ctx, w.person_id, w.programme_id)


async def test_a_reevaluation_that_keeps_failing_is_given_up_and_frees_its_key_for_the_next_mark(
        ctx: AppContext, clock: DrivenClock) -> None:
    w = await psw(ctx)
    await _unknown_state(ctx, w.person_id, w.programme_id)
    await mark(ctx, w.sessions["coaching"][0], w.person_id, MarkStatus.ABSENT_UNAUTHORISED)
    clock.now = clock.now + timedelta(days=400)
    watcher = Watcher(ctx)
    for _ in range(MAX_ATTEMPTS):
        await watcher.fire_due_now()
        clock.now = clock.now + timedelta(hours=1)  # past each retry's wait
    await mark(ctx, w.sessions["coaching"][1], w.person_id, MarkStatus.ABSENT_UNAUTHORISED)
    rows = [(r.key.endswith(":pending"), r.fired_at is not None, (r.result or {}).get("outcome"))
            for r in await _queue_rows(ctx)]
    assert rows == [(False, True, "failed"), (True, False, None)]


async def test_the_claimed_rows_are_deleted_by_id_not_by_reading_every_pending_deadline(ctx: AppContext) -> None:
    async with ctx.db.read() as conn:
        sql = str(_DELETE.statement("sqlite").compile(dialect=conn.dialect))
        plan = " ".join(row[3] for row in (await conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {sql}", ("[1, 2]",))).all())
    assert "deadlines USING INTEGER PRIMARY KEY" in plan and "ix_deadlines_pending" not in plan
