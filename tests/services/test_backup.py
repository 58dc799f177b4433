"""Backups of the SQLite database taken while the app writes, and restoring them."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from checkin.app import create_app
from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import MarkStatus, Role
from checkin.domain.principal import Principal
from checkin.services.backup import BackupError, app_running, backup, restore, sqlite_path
from checkin.settings import Settings
from checkin.storage.migrate import alembic_config
from checkin.storage.tables import mark_history
from tests import factories
from tests.conftest import PASSWORD, LiveServer
from tests.security.records import mark, principal, staff_with_password

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent.parent


def _history_ids(path: Path) -> set[int]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM mark_history")}
    finally:
        conn.close()


def _orphan_marks(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM marks WHERE history_id NOT IN (SELECT id FROM mark_history)")
                   .fetchone()[0])
    finally:
        conn.close()


async def test_a_backup_taken_while_marks_are_written_holds_every_mark_committed_before_it_began(
        ctx: AppContext, tmp_path: Path) -> None:
    tutor = await principal(ctx, "tess.tutor@example.org", Role.TUTOR, "Tess Tutor")
    pupils = tuple([await factories.person(ctx, f"Pupil{i}", "Example") for i in range(20)])
    programme_id = await factories.programme(ctx)
    session_id = await factories.session(ctx, programme_id, START, tutor_ids=(tutor.user_id or 0,),
                                         person_ids=pupils)
    committed: list[int] = []
    stop, under_way = asyncio.Event(), asyncio.Event()

    async def write_marks() -> None:
        i = 0
        while not stop.is_set() or i < 150:
            status = MarkStatus.PRESENT if i % 2 else MarkStatus.LATE
            result = await mark(ctx, session_id, pupils[i % len(pupils)], tutor, START + timedelta(seconds=i),
                                status, nonce=f"n-{i}")
            committed.append(result.history_id)
            if len(committed) == 60:
                under_way.set()
            i += 1

    writer = asyncio.create_task(write_marks())
    await under_way.wait()
    before = set(committed)
    info = await asyncio.to_thread(backup, ctx.settings.database_url, tmp_path / "during.db")
    stop.set()
    await writer
    final = await asyncio.to_thread(backup, ctx.settings.database_url, tmp_path / "after.db")

    during = _history_ids(info.path)
    assert before <= during <= set(committed)
    assert during == set(sorted(committed)[:len(during)])  # one committed prefix: no half-written batch
    assert _orphan_marks(info.path) == 0
    assert _history_ids(final.path) == set(committed)


async def test_a_restored_backup_is_a_working_database_with_every_committed_mark(
        ctx: AppContext, tmp_path: Path) -> None:
    tutor_id = await staff_with_password(ctx, "tess.tutor@example.org", Role.TUTOR)
    tutor = Principal(tutor_id, ctx.extras["org_id"], Role.TUTOR, "Tess Tutor", "cookie")
    ava = await factories.person(ctx, "Ava", "Example")
    ben = await factories.person(ctx, "Ben", "Sample")
    programme_id = await factories.programme(ctx)
    session_id = await factories.session(ctx, programme_id, START, tutor_ids=(tutor.user_id or 0,),
                                         person_ids=(ava, ben))
    await mark(ctx, session_id, ava, tutor, START)
    await mark(ctx, session_id, ben, tutor, START, MarkStatus.LATE)
    copy = await asyncio.to_thread(backup, ctx.settings.database_url, tmp_path / "copy.db")

    target = tmp_path / "elsewhere" / "checkin.db"
    restored = Settings.from_env({}, data_dir=tmp_path / "elsewhere", database_url=f"sqlite+aiosqlite:///{target}",
                                 secret_key="restored-secret-" + "z" * 40, public_base_url="http://testserver")
    await asyncio.to_thread(restore, restored.database_url, copy.path)
    app = create_app(restored, DrivenClock(START + timedelta(minutes=5)), background=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        signed_in = await client.post("/api/auth/sign-in", json={"email": "tess.tutor@example.org",
                                                                 "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        register = await client.get(f"/api/sessions/{session_id}/register")
        marked = await client.post(f"/api/sessions/{session_id}/marks", headers={
            "x-csrf-token": signed_in.json()["csrf_token"]}, json={
            "person_id": ben, "status": "present", "client_time": (START + timedelta(minutes=5)).isoformat(),
            "nonce": "after-restore", "device": "tablet-2"})
    assert register.status_code == 200, register.text
    assert {p["person_id"]: p["mark"]["status"] for p in register.json()["people"]} == {ava: "present", ben: "late"}
    assert marked.status_code < 300, marked.text


def test_restore_refuses_while_the_app_runs_unless_forced(live_settings: Settings, tmp_path: Path) -> None:
    db_path = sqlite_path(live_settings.database_url)
    with LiveServer(live_settings):
        copy = backup(live_settings.database_url, tmp_path / "copy.db")
        assert app_running(db_path)
        with pytest.raises(BackupError) as refused:
            restore(live_settings.database_url, copy.path)
        forced = restore(live_settings.database_url, copy.path, force=True)
    assert refused.value.code == "app_running"
    assert forced.revision == copy.revision
    assert not app_running(db_path)
    restore(live_settings.database_url, copy.path)


def test_a_file_that_is_not_a_checkin_backup_is_refused_before_the_database_is_touched(
        live_settings: Settings, tmp_path: Path) -> None:
    with LiveServer(live_settings, background=False):
        pass
    db_path = sqlite_path(live_settings.database_url)
    before = _table_names(db_path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError) as refused:
        restore(live_settings.database_url, junk)
    assert refused.value.code == "corrupt"
    assert _table_names(db_path) == before


def _table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_backups_of_a_postgresql_database_point_to_pg_dump() -> None:
    with pytest.raises(BackupError) as refused:
        backup("postgresql+asyncpg://u@127.0.0.1/checkin", Path("x.db"))
    assert refused.value.code == "not_sqlite" and "pg_dump" in refused.value.message


def test_run_py_takes_a_backup_and_restores_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKIN_")}
    env |= {"CHECKIN_DATA_DIR": str(tmp_path / "data"), "CHECKIN_SECRET_KEY": "cli-secret-" + "c" * 40}
    made = subprocess.run([sys.executable, "run.py", "--create-admin", "ada@example.org"], input=PASSWORD + "\n",
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    saved = subprocess.run([sys.executable, "run.py", "--backup", str(tmp_path / "b.db")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    (tmp_path / "data" / "checkin.db").unlink()
    back = subprocess.run([sys.executable, "run.py", "--restore", str(tmp_path / "b.db")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert (saved.returncode, back.returncode) == (0, 0), saved.stderr + back.stderr
    conn = sqlite3.connect(tmp_path / "data" / "checkin.db")
    try:
        emails = [r[0] for r in conn.execute("SELECT email FROM users")]
    finally:
        conn.close()
    assert emails == ["ada@example.org"]


def test_run_py_restore_of_a_missing_file_fails_with_a_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKIN_")}
    env |= {"CHECKIN_DATA_DIR": str(tmp_path / "data"), "CHECKIN_SECRET_KEY": "cli-secret-" + "c" * 40}
    result = subprocess.run([sys.executable, "run.py", "--restore", str(tmp_path / "none.db")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no_backup" in result.stderr


async def test_the_backup_of_the_app_database_counts_its_rows_like_the_app_does(
        ctx: AppContext, tmp_path: Path) -> None:
    tutor = await principal(ctx, "tess.tutor@example.org", Role.TUTOR)
    ava = await factories.person(ctx, "Ava", "Example")
    programme_id = await factories.programme(ctx)
    session_id = await factories.session(ctx, programme_id, START, tutor_ids=(tutor.user_id or 0,), person_ids=(ava,))
    await mark(ctx, session_id, ava, tutor, START)
    info = await asyncio.to_thread(backup, ctx.settings.database_url, tmp_path / "b.db")
    async with ctx.db.read() as conn:
        live = (await conn.execute(sa.select(sa.func.count()).select_from(mark_history))).scalar_one()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert (len(_history_ids(info.path)), info.revision) == (live, head)
