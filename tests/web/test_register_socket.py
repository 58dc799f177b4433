"""WS /ws/sessions/{id}: snapshot, live deltas, resume from a sequence, resync, and who may subscribe."""

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
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.settings import Settings
from checkin.storage import events
from checkin.storage.database import Tx
from tests import factories
from tests.conftest import PASSWORD, LiveServer, make_user


@dataclass
class Stage:
    server: LiveServer
    session_id: int
    people: list[int]
    http: httpx.Client
    csrf: dict[str, str]

    @property
    def ctx(self) -> AppContext:
        return self.server.app.state.ctx

    def socket(self, query: str = "", origin: str | None = None, cookie: bool = True) -> ClientConnection:
        headers = {"Cookie": f"checkin_session={self.http.cookies['checkin_session']}"} if cookie else {}
        url = self.server.url.replace("http://", "ws://") + f"/ws/sessions/{self.session_id}{query}"
        return connect(url, origin=Origin(origin or self.server.url), additional_headers=headers, proxy=None,
                       open_timeout=5)

    def mark(self, person_id: int, status: str = "present") -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        r = self.http.post(f"/api/sessions/{self.session_id}/marks", headers=self.csrf, json={
            "person_id": person_id, "status": status, "client_time": now, "nonce": secrets.token_hex(8)})
        assert r.status_code == 201, r.text
        return r.json()


def _settings(tmp_path: Path, **changes: Any) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "ws", secret_key="ws-secret-" + "z" * 40, **changes)


def _stage(server: LiveServer) -> Stage:
    ctx: AppContext = server.app.state.ctx

    async def build() -> tuple[int, list[int]]:
        tutor = await make_user(ctx, "tess.tutor@example.org", Role.TUTOR, "Tess Tutor")
        await make_user(ctx, "olly.other@example.org", Role.TUTOR, "Olly Other")
        programme_id = await factories.programme(ctx)
        people = [await factories.person(ctx, f"Pupil{i}", "Example") for i in range(4)]
        start = datetime.now(UTC) - timedelta(minutes=5)
        return await factories.session(ctx, programme_id, start, tutor_ids=(tutor,), person_ids=tuple(people)), people

    session_id, people = server.run(build())
    http = httpx.Client(base_url=server.url, timeout=10)
    r = http.post("/api/auth/sign-in", json={"email": "tess.tutor@example.org", "password": PASSWORD})
    return Stage(server, session_id, people, http, {"x-csrf-token": r.json()["csrf_token"]})


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    with LiveServer(_settings(tmp_path), background=False) as server:
        s = _stage(server)
        yield s
        s.http.close()


def receive(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=2))


def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=3)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_a_new_connection_gets_the_snapshot_then_each_mark_within_a_second(stage: Stage) -> None:
    with stage.socket() as ws:
        first = receive(ws)
        stage.mark(stage.people[0])
        delta = json.loads(ws.recv(timeout=1))
    assert (first["type"], first["seq"], len(first["data"]["people"])) == ("snapshot", 0, 4)
    assert (delta["type"], delta["seq"], delta["data"]["mark"]["status"]) == ("mark", 1, "present")


def test_every_open_view_receives_the_same_delta(stage: Stage) -> None:
    with stage.socket() as one, stage.socket() as two:
        receive(one), receive(two)
        stage.mark(stage.people[1], "late")
        got = [receive(one), receive(two)]
    assert [(d["seq"], d["data"]["person_id"]) for d in got] == [(1, stage.people[1])] * 2


def test_a_client_resuming_from_a_sequence_receives_only_what_it_missed(stage: Stage) -> None:
    for person_id in stage.people[:3]:
        stage.mark(person_id)
    with stage.socket("?since=1") as ws:
        got = [receive(ws), receive(ws), receive(ws)]
        stage.mark(stage.people[3])
        live = receive(ws)
    assert [(m["type"], m["seq"]) for m in got] == [("mark", 2), ("mark", 3), ("resumed", 3)]
    assert [m["data"]["person_id"] for m in got[:2]] == stage.people[1:3]
    assert (live["type"], live["seq"]) == ("mark", 4)


def test_a_client_that_missed_nothing_is_told_it_is_current(stage: Stage) -> None:
    stage.mark(stage.people[0])
    with stage.socket("?since=1") as ws:
        assert receive(ws) == {"type": "resumed", "seq": 1, "data": {"since": 1, "replayed": 0}}


def test_a_gap_too_big_to_replay_gets_a_fresh_snapshot(tmp_path: Path) -> None:
    with LiveServer(_settings(tmp_path, replay_limit=2), background=False) as server:
        stage = _stage(server)
        for person_id in stage.people:
            stage.mark(person_id)
        with stage.socket("?since=0") as ws:
            first = receive(ws)
        stage.http.close()
    marked = [p["mark"]["status"] for p in first["data"]["people"]]
    assert (first["type"], first["seq"], marked) == ("snapshot", 4, ["present"] * 4)


def test_a_since_ahead_of_the_server_gets_a_fresh_snapshot(stage: Stage) -> None:
    with stage.socket("?since=99") as ws:
        assert (receive(ws)["type"]) == "snapshot"


def test_a_subscriber_that_falls_behind_is_closed_for_resync(tmp_path: Path) -> None:
    with LiveServer(_settings(tmp_path, ws_queue_size=2), background=False) as server:
        stage = _stage(server)
        with stage.socket() as ws:
            receive(ws)

            async def flood() -> None:  # faster than any socket drains: nothing yields between publishes
                for seq in range(1, 8):
                    stage.ctx.hub.publish(f"session:{stage.session_id}", {"type": "flag", "seq": seq, "data": {}})

            server.run(flood())
            seen = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    seen.append(receive(ws)["seq"])
        stage.http.close()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4009
    assert seen == [1, 2]


def test_an_event_ahead_of_the_next_number_is_filled_in_from_the_table(stage: Stage) -> None:
    channel = f"session:{stage.session_id}"

    async def unpublished(tx: Tx) -> dict[str, Any]:
        latest: dict[str, Any] = {}
        for n in range(3):
            latest = await events.append(tx.conn, channel, "flag", {"n": n}, datetime.now(UTC))
        return latest

    async def publish_last_only() -> None:
        last = await stage.ctx.db.write(unpublished)
        stage.ctx.hub.publish(channel, last)

    with stage.socket() as ws:
        receive(ws)
        stage.server.run(publish_last_only())
        got = [receive(ws), receive(ws), receive(ws)]
    assert [(m["seq"], m["data"]["n"]) for m in got] == [(1, 0), (2, 1), (3, 2)]


def test_a_ping_is_answered_with_the_current_sequence(stage: Stage) -> None:
    with stage.socket() as ws:
        receive(ws)
        ws.send(json.dumps({"type": "ping"}))
        assert receive(ws) == {"type": "pong", "seq": 0, "data": {}}


def test_without_a_sign_in_the_socket_is_closed_with_4001(stage: Stage) -> None:
    with stage.socket(cookie=False) as ws:
        assert close_code(ws) == 4001


def test_a_foreign_origin_is_closed_with_4003(stage: Stage) -> None:
    with stage.socket(origin="http://evil.example.org") as ws:
        assert close_code(ws) == 4003


def test_a_tutor_subscribing_to_another_tutors_session_is_closed_with_4003(stage: Stage) -> None:
    other = httpx.Client(base_url=stage.server.url, timeout=10)
    other.post("/api/auth/sign-in", json={"email": "olly.other@example.org", "password": PASSWORD})
    url = stage.server.url.replace("http://", "ws://") + f"/ws/sessions/{stage.session_id}"
    cookie = {"Cookie": f"checkin_session={other.cookies['checkin_session']}"}
    with connect(url, origin=Origin(stage.server.url), additional_headers=cookie, proxy=None) as ws:
        assert close_code(ws) == 4003
    other.close()


def test_an_unknown_session_is_closed_with_4004(stage: Stage) -> None:
    stage.session_id = 999
    with stage.socket() as ws:
        assert close_code(ws) == 4004



def test_an_id_too_large_for_the_database_is_closed_with_4004(stage: Stage) -> None:
    stage.session_id = 99_999_999_999_999_999_999
    with stage.socket() as ws:
        assert close_code(ws) == 4004
