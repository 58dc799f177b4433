"""Migrations keep data: a database at 0001 with rows in it upgrades to head with every row intact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from checkin.storage.engine import create_engine
from checkin.storage.migrate import alembic_config, upgrade
from checkin.storage.tables import (
    audit_log,
    contacts,
    deadlines,
    legal_holds,
    mark_history,
    marks,
    organisations,
    people,
    programmes,
    retention_settings,
    roster,
    sessions,
    users,
)
from tests.conftest import both_backends

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEPT = [organisations, users, programmes, people, contacts, sessions, roster, mark_history, marks, audit_log]


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(sync_conn: Any) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def _revision(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        return str((await conn.execute(sa.text("select version_num from alembic_version"))).scalar_one())


async def _fill(engine: AsyncEngine) -> None:
    """Rows in every kind of table a real organisation has by its first term (0001's columns only)."""
    async with engine.begin() as conn:
        org = (await conn.execute(sa.insert(organisations).values(
            name="Northfield Tutoring", safeguarding_chain=[], bank_holidays=["2026-04-03"], created_at=NOW)
            .returning(organisations.c.id))).scalar_one()
        tutor = (await conn.execute(sa.insert(users).values(
            org_id=org, email="tess.tutor@example.org", name="Tess Tutor", role="tutor", created_at=NOW)
            .returning(users.c.id))).scalar_one()
        prog = (await conn.execute(sa.insert(programmes).values(
            org_id=org, name="AP Tuition", policy={"rules": []}, requirements=[], reasons=[], weekly_report_to=[],
            created_at=NOW, updated_at=NOW).returning(programmes.c.id))).scalar_one()
        pupil = (await conn.execute(sa.insert(people).values(
            org_id=org, first_name="Zoë", last_name="O'Example", email="zoe@example.org", ap_pupil=True,
            created_at=NOW).returning(people.c.id))).scalar_one()
        await conn.execute(sa.insert(contacts).values(person_id=pupil, kind="emergency", name="Pat Example",
                                                      phone="07700 900123", created_at=NOW))
        session = (await conn.execute(sa.insert(sessions).values(
            org_id=org, programme_id=prog, title="Maths 1:1", kind="ap_tuition", mode="face_to_face",
            starts_at=NOW, ends_at=NOW.replace(hour=10), created_at=NOW, updated_at=NOW)
            .returning(sessions.c.id))).scalar_one()
        await conn.execute(sa.insert(roster).values(session_id=session, person_id=pupil, added_at=NOW))
        history = (await conn.execute(sa.insert(mark_history).values(
            session_id=session, person_id=pupil, status="present", code="/", source="tablet", actor_user_id=tutor,
            server_time=NOW, nonce="n-1").returning(mark_history.c.id))).scalar_one()
        await conn.execute(sa.insert(marks).values(session_id=session, person_id=pupil, status="present", code="/",
                                                   source="tablet", actor_user_id=tutor, server_time=NOW,
                                                   history_id=history))
        await conn.execute(sa.insert(audit_log).values(
            org_id=org, at=NOW, actor_user_id=tutor, actor="Tess Tutor (tutor)", action="mark", entity="mark",
            entity_id=str(history), person_id=pupil, session_id=session, before=None, after={"status": "present"}))


async def _snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in (await conn.execute(
            sa.select(*[c for c in t.c]))).all()) for t in KEPT}


@pytest.fixture
async def engine(database_url: str) -> Any:
    made = create_engine(database_url, writer=True)
    yield made
    await made.dispose()


@both_backends
async def test_a_database_at_0001_with_data_upgrades_to_head_without_losing_any(engine: AsyncEngine) -> None:
    await upgrade(engine, "head")  # a fresh database, or one earlier tests left at head
    await _downgrade(engine, "0001")
    assert await _revision(engine) == "0001"
    await _fill(engine)
    before = await _snapshot(engine)

    await upgrade(engine, "head")

    assert await _revision(engine) != "0001"
    assert await _snapshot(engine) == before
    assert all(len(rows) >= 1 for rows in before.values())


@both_backends
async def test_the_upgraded_database_has_the_new_tables_working(engine: AsyncEngine) -> None:
    await upgrade(engine, "head")
    await _downgrade(engine, "0001")
    await _fill(engine)
    await upgrade(engine, "head")
    async with engine.begin() as conn:
        org = (await conn.execute(sa.select(organisations.c.id))).scalar_one()
        pupil = (await conn.execute(sa.select(people.c.id))).scalar_one()
        await conn.execute(sa.insert(legal_holds).values(org_id=org, person_id=pupil, reason="Police request",
                                                         placed_at=NOW))
        await conn.execute(sa.insert(retention_settings).values(org_id=org, record_type="checkin_attempts",
                                                                keep_days=30, updated_at=NOW))
    async with engine.connect() as conn:
        held = (await conn.execute(sa.select(legal_holds.c.person_id))).scalars().all()
        kept = (await conn.execute(sa.select(retention_settings.c.keep_days))).scalars().all()
    assert (held, kept) == ([pupil], [30])


@both_backends
async def test_after_the_upgrade_the_old_audit_entries_cannot_be_changed(engine: AsyncEngine) -> None:
    await upgrade(engine, "head")
    await _downgrade(engine, "0001")
    await _fill(engine)
    await upgrade(engine, "head")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(sa.update(audit_log).values(actor="someone else"))
    async with engine.connect() as conn:
        actors = (await conn.execute(sa.select(audit_log.c.actor))).scalars().all()
    assert actors == ["Tess Tutor (tutor)"]


@both_backends
async def test_the_upgrade_clears_evaluated_completion_rows_and_keeps_pending_ones(engine: AsyncEngine) -> None:
    await upgrade(engine, "head")
    await _downgrade(engine, "0003")
    await _fill(engine)
    async with engine.begin() as conn:
        org = (await conn.execute(sa.select(organisations.c.id))).scalar_one()
        rows = [("COMPLETION:p1:g1:7", NOW), ("COMPLETION:p2:g1:pending", NOW), ("COMPLETION:p3:g1:pending", None),
                ("AP-NOSHOW:1:1", NOW)]
        for key, fired in rows:
            await conn.execute(sa.insert(deadlines).values(org_id=org, rule_id=key.split(":")[0], key=key,
                                                           due_at=NOW, fired_at=fired, created_at=NOW))
    await upgrade(engine, "head")
    async with engine.connect() as conn:
        left = (await conn.execute(sa.select(deadlines.c.key).order_by(deadlines.c.key))).scalars().all()
    assert left == ["AP-NOSHOW:1:1", "COMPLETION:p3:g1:pending"]
