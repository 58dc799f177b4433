"""Two watcher processes on one PostgreSQL database share 500 deadlines due at once: each fires exactly once."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from checkin.clock import system_clock
from checkin.context import AppContext
from checkin.domain.rules import DeadlineSpec
from checkin.services.deadlines import deadline_key
from checkin.storage.database import Tx
from checkin.storage.tables import (
    alerts,
    completion_states,
    contacts,
    deadlines,
    mark_history,
    people,
    roster,
    session_tutors,
    sessions,
)
from tests.watcher.scenarios import ap_programme, rows, staff

ROOT = Path(__file__).resolve().parents[2]
COUNT = 500


async def _due_at_once(ctx: AppContext, count: int) -> None:
    """`count` AP sessions, one unmarked pupil each, whose AP-NOSHOW deadlines all fell due a minute ago."""
    tutor, _ = await staff(ctx)
    programme = await ap_programme(ctx)
    org, now = ctx.extras["org_id"], system_clock()
    start = now - timedelta(minutes=16)

    async def work(tx: Tx) -> None:
        c = tx.conn
        pupils = (await c.execute(sa.insert(people).returning(people.c.id), [
            dict(org_id=org, first_name=f"Pupil{i}", last_name="Example", email=f"pupil{i}@example.org",
                 ap_pupil=True, created_at=now) for i in range(count)])).scalars().all()
        ids = (await c.execute(sa.insert(sessions).returning(sessions.c.id), [
            dict(org_id=org, programme_id=programme, title=f"Maths {i}", kind="ap_tuition", mode="face_to_face",
                 starts_at=start, ends_at=start + timedelta(hours=1), created_at=now, updated_at=now)
            for i in range(count)])).scalars().all()
        await c.execute(sa.insert(roster), [dict(session_id=s, person_id=p, added_at=now)
                                            for s, p in zip(ids, pupils, strict=True)])
        await c.execute(sa.insert(session_tutors), [dict(session_id=s, user_id=tutor) for s in ids])
        await c.execute(sa.insert(contacts), [dict(person_id=p, kind="emergency", name="Parent Example",
                                                   phone="07700 900789", created_at=now) for p in pupils])
        spec = DeadlineSpec("AP-NOSHOW", None, start + timedelta(minutes=15))
        await c.execute(sa.insert(deadlines), [
            dict(org_id=org, session_id=s, rule_id=spec.rule_id, key=deadline_key(spec, s), due_at=spec.due_at,
                 created_at=now) for s in ids])

    await ctx.db.write(work)


async def _worker(url: str, holder: str, start_at: float) -> dict[str, object]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.watcher.watcher_worker", "drain", url, holder, str(start_at), "20", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=180)
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(out.decode().strip().splitlines()[-1])


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_watcher_processes_fire_500_deadlines_due_at_once_exactly_once(
        ctx: AppContext, database_url: str) -> None:
    await _due_at_once(ctx, COUNT)
    start_at = time.time() + 3  # both processes are connected and waiting by then
    reports = await asyncio.gather(_worker(database_url, "process-a", start_at),
                                   _worker(database_url, "process-b", start_at))
    # Each no-show mark also queues a completion re-evaluation: each is evaluated once and leaves no row.
    fired = await rows(ctx, deadlines, deadlines.c.fired_at.is_not(None))
    queued = await rows(ctx, deadlines, deadlines.c.rule_id == "COMPLETION")
    evaluated = await rows(ctx, completion_states, completion_states.c.requirement == "overall")
    raised = Counter(a.session_id for a in await rows(ctx, alerts, alerts.c.rule_id == "AP-NOSHOW"))
    marked = await rows(ctx, mark_history, mark_history.c.source == "watcher")
    by_holder = Counter(d.result["fired_by"] for d in fired)
    assert (len(fired), len(raised), set(raised.values()), len(marked)) == (COUNT, COUNT, {1}, COUNT)
    assert (queued, len(evaluated), sum(int(r["reevaluated"]) for r in reports)) == ([], COUNT, COUNT)
    assert by_holder == {r["holder"]: int(r["fired"]) - int(r["reevaluated"]) for r in reports}
    assert sorted(by_holder) == ["process-a", "process-b"] and min(by_holder.values()) > 0
