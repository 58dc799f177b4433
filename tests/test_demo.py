"""`run.py --demo`: the fictional demo is loaded once, set around today, and the app serves it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine

from checkin.app import create_app
from checkin.clock import DrivenClock
from checkin.demo import DemoRefused, load_demo
from checkin.demo_data import PASSWORD
from checkin.domain.model import Role
from checkin.services.accounts import create_user
from checkin.settings import Settings
from checkin.storage.database import Database
from checkin.storage.tables import (
    contacts,
    deadlines,
    marks,
    organisations,
    people,
    programmes,
    roster,
    session_tutors,
    sessions,
    users,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # a Monday morning in London (GMT)


@pytest.fixture
def demo_settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "demo", secret_key="demo-secret-" + "z" * 40,
                             public_base_url="http://127.0.0.1:8000")


@pytest.fixture
def clock() -> DrivenClock:
    return DrivenClock(NOW)


class Look:
    """A plain synchronous look at the demo's SQLite file, a fresh connection per question."""

    def __init__(self, path: Path) -> None:
        self.engine = create_engine(f"sqlite:///{path}")

    def execute(self, query: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def one(self, query: Any) -> Any:
        [(value,)] = self.execute(query)
        return value


@pytest.fixture
def db(demo_settings: Settings) -> Iterator[Look]:
    look = Look(demo_settings.data_dir / "checkin.db")
    yield look
    look.engine.dispose()


def all_rows(db: Look, table: sa.Table, *where: Any) -> list[Any]:
    return list(db.execute(sa.select(table).where(*where)))


def counts(db: Look) -> dict[str, int]:
    return {t.name: db.one(sa.select(sa.func.count()).select_from(t))
            for t in (users, programmes, people, contacts, sessions, roster, marks, deadlines)}


async def test_the_demo_has_every_role_and_the_org_safeguarding_chain(demo_settings: Settings,
                                                                      clock: DrivenClock, db: Look):
    await load_demo(demo_settings, clock)
    staff = {u.email: u for u in all_rows(db, users)}
    assert sorted(u.role for u in staff.values()) == sorted(
        [Role.ADMIN, Role.PROGRAMME_MANAGER, Role.TUTOR, Role.TUTOR, Role.EVENTS_TEAM, Role.DSL, Role.DSL])
    [org] = all_rows(db, organisations)
    assert org.safeguarding_chain == [staff["dsl@example.org"].id, staff["deputy.dsl@example.org"].id]
    assert org.la_ap_address.endswith("@example.org")


async def test_the_demo_programmes_use_the_presets(demo_settings: Settings, clock: DrivenClock, db: Look):
    await load_demo(demo_settings, clock)
    found = {p.preset: p for p in all_rows(db, programmes)}
    assert set(found) == {"ap_tuition", "apprenticeship_f2f", "residential_events", "coaching"}
    assert found["ap_tuition"].code_set == "dfe_2024"
    ap_rules = {r["id"] for r in found["ap_tuition"].policy["rules"] if r["enabled"]}
    assert {"AP-REPORT", "AP-NOSHOW", "AP-DSL"} <= ap_rules


async def test_the_ap_tutors_day_is_today_with_some_sessions_already_started(demo_settings: Settings,
                                                                              clock: DrivenClock, db: Look):
    await load_demo(demo_settings, clock)
    tutor = db.one(sa.select(users.c.id).where(users.c.email == "tutor@example.org"))
    taught = all_rows(db, sessions, sessions.c.id.in_(
        sa.select(session_tutors.c.session_id).where(session_tutors.c.user_id == tutor)))
    assert len(taught) == 5 and {s.kind for s in taught} == {"ap_tuition"}
    assert {s.starts_at.replace(tzinfo=UTC).astimezone(LONDON).date() for s in taught} == {NOW.date()}
    assert sum(1 for s in taught if s.starts_at.replace(tzinfo=UTC) <= NOW) == 3
    pending = {d.rule_id for d in all_rows(db, deadlines, deadlines.c.fired_at.is_(None))}
    assert {"AP-NOSHOW", "AP-REPORT", "AP-DSL", "F2F-REGISTER", "EVENTS-CALL"} <= pending


async def test_ap_pupils_are_on_and_off_a_school_roll_with_attendance_and_emergency_contacts(
        demo_settings: Settings, clock: DrivenClock, db: Look):
    await load_demo(demo_settings, clock)
    pupils = all_rows(db, people, people.c.ap_pupil.is_(True))
    assert {p.on_school_roll for p in pupils} == {True, False}
    for pupil in pupils:
        kinds = [c.kind for c in all_rows(db, contacts, contacts.c.person_id == pupil.id)]
        assert kinds.count("attendance") == 1 and kinds.count("emergency") >= 1, pupil.first_name


async def test_the_workshop_learners_have_employers_and_the_residential_has_forty(demo_settings: Settings,
                                                                                 clock: DrivenClock,
                                                                                 db: Look):
    await load_demo(demo_settings, clock)
    [workshop] = all_rows(db, sessions, sessions.c.kind == "workshop")
    learners = all_rows(db, people, people.c.id.in_(sa.select(roster.c.person_id)
                                                    .where(roster.c.session_id == workshop.id)))
    assert learners and all(p.employer for p in learners)
    days = all_rows(db, sessions, sessions.c.kind == "residential")
    local_days = sorted(s.starts_at.replace(tzinfo=UTC).astimezone(LONDON).date() for s in days)
    assert local_days == [NOW.date(), NOW.date() + timedelta(days=1)]
    for day in days:
        on_roster = db.one(sa.select(sa.func.count()).where(roster.c.session_id == day.id))
        assert on_roster == 40


async def test_the_coaching_series_is_weekly_in_the_past_and_the_future(demo_settings: Settings, clock: DrivenClock,
                                                                       db: Look):
    await load_demo(demo_settings, clock)
    starts = sorted(s.starts_at.replace(tzinfo=UTC) for s in all_rows(db, sessions, sessions.c.kind == "coaching"))
    assert any(s < NOW for s in starts) and any(s > NOW for s in starts)
    assert {(b.date() - a.date()).days for a, b in pairwise(starts)} <= {7, 14}


async def test_every_phone_and_email_in_the_demo_is_from_a_reserved_range(demo_settings: Settings,
                                                                         clock: DrivenClock, db: Look):
    await load_demo(demo_settings, clock)
    phones = [c.phone for c in all_rows(db, contacts) if c.phone] + [u.phone for u in all_rows(db, users)]
    emails = ([c.email for c in all_rows(db, contacts) if c.email] + [p.email for p in all_rows(db, people)
                                                                       if p.email]
              + [u.email for u in all_rows(db, users)])
    assert phones and all(re.fullmatch(r"07700 900\d{3}", p) for p in phones)
    assert emails and all(re.search(r"(@|\.)example\.(org|com)$", e) for e in emails)


async def test_loading_the_demo_again_changes_nothing_and_prints_the_sign_ins(demo_settings: Settings,
                                                                             clock: DrivenClock,
                                                                             db: Look):
    first = await load_demo(demo_settings, clock)
    before = counts(db)
    clock.advance(hours=1)
    second = await load_demo(demo_settings, clock)
    assert counts(db) == before
    assert second[0].startswith("Demo already loaded") and first[1:] == second[1:]
    assert any("http://127.0.0.1:8000/" in line for line in second)
    heading = next(i for i, line in enumerate(second) if PASSWORD in line)
    assert [line.split()[0] for line in second[heading + 1:]] == [
        "admin@example.org", "manager@example.org", "tutor@example.org", "tutor2@example.org", "events@example.org",
        "dsl@example.org", "deputy.dsl@example.org"]


async def test_the_demo_is_never_loaded_into_a_database_with_other_staff(demo_settings: Settings,
                                                                        clock: DrivenClock, db: Look):
    from checkin.services.orgs import ensure_org

    demo_settings.data_dir.mkdir(parents=True)
    database = Database(demo_settings.database_url)
    await database.start()
    org_id = await ensure_org(database, "Real Org", "Europe/London", NOW)
    await create_user(database, org_id, "someone@example.org", "Real Person", Role.ADMIN, "a-real-password!", NOW)
    await database.close()
    with pytest.raises(DemoRefused):
        await load_demo(demo_settings, clock)
    assert [u.email for u in all_rows(db, users)] == ["someone@example.org"]


async def test_the_app_serves_the_demo_and_the_tutor_sees_todays_sessions(demo_settings: Settings,
                                                                          clock: DrivenClock):
    await load_demo(demo_settings, clock)
    app = create_app(demo_settings, clock, background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.post("/api/auth/sign-in", json={"email": "tutor@example.org", "password": PASSWORD})
            assert r.status_code == 200, r.text
            r = await client.get("/api/sessions", params={"date": NOW.date().isoformat()})
    assert r.status_code == 200, r.text
    listed = r.json()
    assert [s["title"] for s in listed] == ["Maths 1:1", "English 1:1", "Science 1:1", "Maths 1:1", "English 1:1"]
    assert all(s["programme_name"] == "AP Tuition" and s["roster_count"] == 1 for s in listed)
