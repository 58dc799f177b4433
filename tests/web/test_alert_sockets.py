"""WS /ws/alerts and /ws/events: who may listen, snapshot then numbered deltas, resume, and what the board hides."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.services.alerting import raise_alert
from checkin.settings import Settings
from checkin.storage import events
from checkin.storage.database import Tx
from checkin.storage.tables import sessions, tasks
from tests.conftest import PASSWORD, LiveServer, make_user
from tests.services.alert_world import World, build_world


@dataclass
class Stage:
    server: LiveServer
    world: World

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.server.app.state.ctx
        return ctx

    def cookie(self, email: str) -> str:
        with httpx.Client(base_url=self.server.url, timeout=10) as http:
            r = http.post("/api/auth/sign-in", json={"email": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return str(r.cookies["checkin_session"])

    def socket(self, path: str, email: str | None, origin: str | None = None) -> ClientConnection:
        headers = {"Cookie": f"checkin_session={self.cookie(email)}"} if email else {}
        return connect(self.server.url.replace("http://", "ws://") + path,
                       origin=Origin(origin or self.server.url), additional_headers=headers, proxy=None,
                       open_timeout=5)

    def raise_alert(self, title: str = "Safeguarding: Sam Pupil") -> int:
        ctx, world = self.ctx, self.world

        async def work(tx: Tx) -> int:
            return await raise_alert(tx, ctx, org_id=world.org_id, rule_id="AP-DSL", kind="safeguarding",
                                     severity="safeguarding", title=title, why="Not reached.",
                                     facts={"name": "Sam Pupil"}, recipients=[], now=datetime.now(UTC),
                                     session_id=world.session_id, person_id=world.person_id)

        return int(self.server.run(ctx.db.write(work)))

    def add_task(self, kind: str) -> int:
        ctx, world = self.ctx, self.world

        async def work(tx: Tx) -> int:
            now = datetime.now(UTC)
            task_id = int((await tx.conn.execute(sa.insert(tasks).values(
                org_id=world.org_id, kind=kind, session_id=world.session_id, person_id=world.person_id,
                title=f"{kind}: Sam Pupil", facts={"name": "Sam Pupil"}, due_at=now, state="open", created_at=now)
                .returning(tasks.c.id))).scalar_one())
            channel = events.org_channel(world.org_id)
            event = await events.append(tx.conn, channel, "task", {"id": task_id, "kind": kind}, now)
            tx.after_commit(lambda: ctx.hub.publish(channel, event))
            return task_id

        return int(self.server.run(ctx.db.write(work)))


def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=5))
    return message


def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    settings = Settings.from_env({}, data_dir=tmp_path / "ws", secret_key="ws-secret-" + "q" * 40)
    with LiveServer(settings, background=False) as server:
        ctx: AppContext = server.app.state.ctx

        async def setup() -> World:
            world = await build_world(ctx, signs_in=("dsl", "tutor"))
            await make_user(ctx, "eve.events@example.org", Role.EVENTS_TEAM, "Eve Events")

            async def today(tx: Tx) -> None:
                start = datetime.now(UTC).replace(microsecond=0)
                await tx.conn.execute(sa.update(sessions).values(starts_at=start, ends_at=start + timedelta(hours=1)))

            await ctx.db.write(today)
            return world

        yield Stage(server, server.run(setup()))


def test_the_alert_feed_refuses_a_socket_without_a_sign_in(stage: Stage) -> None:
    with stage.socket("/ws/alerts", None) as ws:
        assert close_code(ws) == 4001


def test_the_alert_feed_refuses_a_tutor(stage: Stage) -> None:
    with stage.socket("/ws/alerts", "tutor@example.org") as ws:
        assert close_code(ws) == 4003


def test_the_alert_feed_refuses_another_origin(stage: Stage) -> None:
    with stage.socket("/ws/alerts", "dsl@example.org", origin="https://evil.example.net") as ws:
        assert close_code(ws) == 4003


def test_the_dsl_gets_the_open_alerts_then_each_new_one_numbered(stage: Stage) -> None:
    first = stage.raise_alert("First")
    with stage.socket("/ws/alerts", "dsl@example.org") as ws:
        snapshot = receive(ws)
        second = stage.raise_alert("Second")
        delta = receive(ws)

    assert snapshot["type"] == "snapshot"
    assert [a["id"] for a in snapshot["data"]["alerts"]] == [first]
    assert (delta["type"], delta["seq"], delta["data"]["id"]) == ("alert", snapshot["seq"] + 1, second)


def test_a_dsl_resuming_from_a_number_gets_only_what_was_missed(stage: Stage) -> None:
    with stage.socket("/ws/alerts", "dsl@example.org") as ws:
        seen = receive(ws)["seq"]
    missed = stage.raise_alert("While away")

    with stage.socket(f"/ws/alerts?since={seen}", "dsl@example.org") as ws:
        replayed, resumed = receive(ws), receive(ws)

    assert (replayed["type"], replayed["data"]["id"]) == ("alert", missed)
    assert (resumed["type"], resumed["seq"]) == ("resumed", replayed["seq"])


def test_the_events_board_gets_call_tasks_but_never_an_alert(stage: Stage) -> None:
    with stage.socket("/ws/events", "eve.events@example.org") as ws:
        snapshot = receive(ws)
        stage.raise_alert("Safeguarding detail the events team must not see")
        stage.add_task("call_emergency_contacts")
        call = stage.add_task("call")
        delta = receive(ws)

    assert [s["id"] for s in snapshot["data"]["sessions"]] == [stage.world.session_id]
    assert snapshot["data"]["sessions"][0]["expected"] == 1
    assert (delta["type"], delta["data"]["id"], delta["seq"]) == ("task", call, snapshot["seq"] + 3)


def test_the_events_board_recounts_a_session_when_its_register_moves(stage: Stage) -> None:
    world = stage.world
    with stage.socket("/ws/events", "eve.events@example.org") as ws:
        receive(ws)
        with httpx.Client(base_url=stage.server.url, timeout=10) as http:
            r = http.post("/api/auth/sign-in", json={"email": "tutor@example.org", "password": PASSWORD})
            mark = http.post(f"/api/sessions/{world.session_id}/marks", headers={
                "x-csrf-token": r.json()["csrf_token"]}, json={
                "person_id": world.person_id, "status": "present", "client_time": datetime.now(UTC).isoformat(),
                "nonce": secrets.token_hex(8)})
            assert mark.status_code == 201, mark.text
        counts = receive(ws)

    assert counts["type"] == "counts"
    assert {k: counts["data"][k] for k in ("session_id", "expected", "arrived", "missing")} == {
        "session_id": world.session_id, "expected": 1, "arrived": 1, "missing": 0}


def test_a_tutor_cannot_watch_the_events_board(stage: Stage) -> None:
    with stage.socket("/ws/events", "tutor@example.org") as ws:
        assert close_code(ws) == 4003
