"""The events board and the call list over HTTP: counts per session, phone numbers, one-tap outcomes, tasks."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.storage.database import Tx
from checkin.storage.tables import marks, notices, tasks
from tests import factories
from tests.conftest import make_user, sign_in
from tests.services.alert_world import PARENT_PHONE, START, World, build_world


@pytest.fixture
async def world(ctx: AppContext, clock: DrivenClock) -> World:
    clock.now = START + timedelta(minutes=40)
    world = await build_world(ctx, signs_in=("tutor",))
    await make_user(ctx, "eve.events@example.org", Role.EVENTS_TEAM, "Eve Events")
    return world


async def event_with_four(ctx: AppContext, world: World) -> tuple[int, list[int]]:
    """A 10:00 event: one on time, one late, one with a notice, one missing."""
    people = [await factories.person(ctx, f"Guest{i}", "Example") for i in range(4)]
    session_id = await factories.session(ctx, world.programme_id, START + timedelta(hours=1), title="Conference",
                                         kind="conference", person_ids=tuple(people))

    async def marked(tx: Tx) -> None:
        now = START + timedelta(hours=1)
        for pid, status, late in ((people[0], "present", 0), (people[1], "late", 12)):
            await tx.conn.execute(sa.insert(marks).values(
                session_id=session_id, person_id=pid, status=status, code="", minutes_late=late, source="tablet",
                server_time=now, history_id=0))
        await tx.conn.execute(sa.insert(notices).values(session_id=session_id, person_id=people[2], reason="Illness",
                                                        accepted=True, received_at=now))

    await ctx.db.write(marked)
    return session_id, people


async def call_task(ctx: AppContext, world: World, session_id: int | None = None) -> int:
    async def work(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(tasks).values(
            org_id=world.org_id, kind="call", session_id=session_id or world.session_id, person_id=world.person_id,
            title="Call Sam Pupil", assigned_role="events_team",
            facts={"name": "Sam Pupil", "session_title": "Maths 1:1", "phone": "", "rule_id": "EVENTS-CALL"},
            due_at=ctx.clock(), state="open", created_at=ctx.clock()).returning(tasks.c.id))).scalar_one())

    return await ctx.db.write(work)


async def test_the_board_counts_expected_arrived_late_and_missing_per_session(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    event, _ = await event_with_four(ctx, world)
    await sign_in(client, "eve.events@example.org")

    board = (await client.get("/api/events/board", params={"date": "2026-03-02"})).json()

    counts = {s["id"]: {k: s[k] for k in ("expected", "arrived", "late", "excused", "missing")}
              for s in board["sessions"]}
    assert counts[event] == {"expected": 4, "arrived": 2, "late": 1, "excused": 1, "missing": 1}
    assert counts[world.session_id] == {"expected": 1, "arrived": 0, "late": 0, "excused": 0, "missing": 1}
    assert [s["id"] for s in board["sessions"]] == [world.session_id, event]


async def test_the_call_list_shows_the_numbers_to_ring_and_takes_a_one_tap_outcome(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    task_id = await call_task(ctx, world)
    csrf = await sign_in(client, "eve.events@example.org")

    [listed] = (await client.get("/api/events/board")).json()["calls"]
    tapped = await client.post("/api/follow-ups", headers=csrf, json={
        "task_id": task_id, "outcome": "reached", "method": "phone", "nonce": f"call-{task_id}-1"})
    [after] = (await client.get("/api/tasks", params={"kind": "events_call", "state": "all"})).json()

    assert listed["phones"] == [{"name": "Pat Parent", "relationship": "Mother", "phone": PARENT_PHONE}]
    assert (tapped.status_code, tapped.json()["person_id"]) == (201, world.person_id)
    assert (after["state"], after["outcome"]) == ("done", "reached")


async def test_a_tutor_cannot_open_the_events_board(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, "tutor@example.org")

    r = await client.get("/api/events/board")

    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")


async def test_a_tutor_lists_only_the_tasks_of_sessions_they_teach_and_completes_one(
        client: httpx.AsyncClient, ctx: AppContext, world: World) -> None:
    event, _ = await event_with_four(ctx, world)
    mine = await call_task(ctx, world)
    await call_task(ctx, world, session_id=event)
    csrf = await sign_in(client, "tutor@example.org")

    listed = (await client.get("/api/tasks")).json()
    done = await client.post(f"/api/tasks/{mine}/complete", headers=csrf, json={"note": "Spoke to mum."})
    again = await client.post(f"/api/tasks/{mine}/complete", headers=csrf, json={})

    assert [t["id"] for t in listed] == [mine]
    assert (done.status_code, done.json()["state"]) == (200, "done")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "task_done")
