"""Retention: registers kept six years, shorter periods per record type, legal holds, the daily job."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Invalid
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services import legal_holds, retention
from checkin.storage.tables import (
    alerts,
    audit_log,
    catch_ups,
    checkin_attempts,
    mark_history,
    marks,
    people,
    roster,
    sessions,
)
from checkin.storage.tables import (
    legal_holds as holds_table,
)
from tests import factories
from tests.conftest import both_backends
from tests.security.records import alert, attempt, count, marked_session, principal

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # the conftest clock
SEVEN_YEARS_AGO = datetime(2019, 3, 4, 9, 0, tzinfo=UTC)
FIVE_YEARS_AGO = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def admin(ctx: AppContext) -> Principal:
    return await principal(ctx, "ada.admin@example.org", Role.ADMIN, "Ada Admin")


@pytest.fixture
async def tutor(ctx: AppContext) -> Principal:
    return await principal(ctx, "tess.tutor@example.org", Role.TUTOR, "Tess Tutor")


@both_backends
async def test_a_register_older_than_six_years_is_purged_with_its_marks_and_history(
        ctx: AppContext, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    old = await marked_session(ctx, tutor, (ava,), SEVEN_YEARS_AGO)

    await retention.purge(ctx, NOW)

    assert await count(ctx, sessions, sessions.c.id == old) == 0
    assert await count(ctx, marks, marks.c.session_id == old) == 0
    assert await count(ctx, mark_history, mark_history.c.session_id == old) == 0
    assert await count(ctx, roster, roster.c.session_id == old) == 0


@both_backends
async def test_a_register_five_years_old_is_kept(ctx: AppContext, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    recent = await marked_session(ctx, tutor, (ava,), FIVE_YEARS_AGO)

    await retention.purge(ctx, NOW)

    assert await count(ctx, mark_history, mark_history.c.session_id == recent) == 1


async def test_a_register_is_kept_until_six_full_years_after_it_ended(ctx: AppContext, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    session_id = await marked_session(ctx, tutor, (ava,), SEVEN_YEARS_AGO)
    async with ctx.db.read() as conn:
        ended = (await conn.execute(sa.select(sessions.c.ends_at).where(sessions.c.id == session_id))).scalar_one()
    six_years_on = ended + timedelta(days=retention.SIX_YEARS)

    await retention.purge(ctx, six_years_on - timedelta(minutes=1))
    kept = await count(ctx, sessions, sessions.c.id == session_id)
    await retention.purge(ctx, six_years_on + timedelta(minutes=1))

    assert (kept, await count(ctx, sessions, sessions.c.id == session_id)) == (1, 0)


@both_backends
async def test_a_legal_hold_on_a_person_keeps_every_old_register_they_are_on(
        ctx: AppContext, admin: Principal, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    ben = await factories.person(ctx, "Ben", "Sample")
    shared = await marked_session(ctx, tutor, (ava, ben), SEVEN_YEARS_AGO)
    bens_own = await marked_session(ctx, tutor, (ben,), SEVEN_YEARS_AGO + timedelta(days=1))
    await legal_holds.place(ctx, admin, person_id=ava, session_id=None, reason="Police enquiry", now=NOW)

    await retention.purge(ctx, NOW)

    assert await count(ctx, mark_history, mark_history.c.session_id == shared) == 2
    assert await count(ctx, sessions, sessions.c.id == bens_own) == 0


@both_backends
async def test_a_legal_hold_on_a_session_keeps_it(ctx: AppContext, admin: Principal, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    old = await marked_session(ctx, tutor, (ava,), SEVEN_YEARS_AGO)
    await legal_holds.place(ctx, admin, person_id=None, session_id=old, reason="Insurance claim", now=NOW)

    await retention.purge(ctx, NOW)

    assert await count(ctx, sessions, sessions.c.id == old) == 1


async def test_once_the_hold_is_released_the_next_purge_deletes_the_records(
        ctx: AppContext, admin: Principal, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    old = await marked_session(ctx, tutor, (ava,), SEVEN_YEARS_AGO)
    hold = await legal_holds.place(ctx, admin, person_id=None, session_id=old, reason="Insurance claim", now=NOW)
    await retention.purge(ctx, NOW)
    await legal_holds.release(ctx, admin, hold["id"], "Claim settled", NOW)

    await retention.purge(ctx, NOW)

    assert await count(ctx, sessions, sessions.c.id == old) == 0
    assert await count(ctx, holds_table) == 0  # the released hold went with what it named; the audit log keeps it


async def test_keeping_registers_for_less_than_six_years_is_refused(ctx: AppContext, admin: Principal) -> None:
    with pytest.raises(Invalid) as refused:
        await retention.set_keep_days(ctx, admin, "registers", 365 * 5, NOW)
    assert (refused.value.code, refused.value.details["minimum_days"]) == ("below_minimum", retention.SIX_YEARS)


async def test_an_unknown_record_type_is_refused_with_a_code(ctx: AppContext, admin: Principal) -> None:
    with pytest.raises(Invalid) as refused:
        await retention.set_keep_days(ctx, admin, "everything", 400, NOW)
    assert refused.value.code == "unknown_record_type"


async def test_an_organisation_may_keep_registers_longer(ctx: AppContext, admin: Principal,
                                                         tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    old = await marked_session(ctx, tutor, (ava,), SEVEN_YEARS_AGO)
    setting = await retention.set_keep_days(ctx, admin, "registers", 10 * 365, NOW)

    await retention.purge(ctx, NOW)

    assert setting["keep_days"] == 3650
    assert await count(ctx, sessions, sessions.c.id == old) == 1


async def test_changing_a_period_is_audited_with_before_and_after(ctx: AppContext, admin: Principal) -> None:
    await retention.set_keep_days(ctx, admin, "checkin_attempts", 30, NOW)
    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(audit_log).where(audit_log.c.entity == "retention"))).one()
    assert (row.actor_user_id, row.before, row.after) == (admin.user_id, {"keep_days": 90}, {"keep_days": 30})


async def test_check_in_attempts_follow_their_own_shorter_period(ctx: AppContext, admin: Principal,
                                                                tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    session_id = await marked_session(ctx, tutor, (ava,), NOW - timedelta(days=60))
    await attempt(ctx, session_id, ava, NOW - timedelta(days=60))
    await attempt(ctx, session_id, ava, NOW - timedelta(days=10))
    await retention.set_keep_days(ctx, admin, "checkin_attempts", 30, NOW)

    await retention.purge(ctx, NOW)

    assert await count(ctx, checkin_attempts) == 1
    assert await count(ctx, mark_history, mark_history.c.session_id == session_id) == 1


async def test_old_alerts_go_and_recent_ones_stay(ctx: AppContext) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    await alert(ctx, ava, SEVEN_YEARS_AGO)
    recent = await alert(ctx, ava, FIVE_YEARS_AGO)

    await retention.purge(ctx, NOW)

    async with ctx.db.read() as conn:
        left = (await conn.execute(sa.select(alerts.c.id))).scalars().all()
    assert left == [recent]


async def test_a_person_on_no_register_is_purged_after_their_period(ctx: AppContext, tutor: Principal) -> None:
    await factories.person(ctx, "Old", "Import", created_at=SEVEN_YEARS_AGO)
    on_a_register = await factories.person(ctx, "Ava", "Example", created_at=SEVEN_YEARS_AGO)
    await marked_session(ctx, tutor, (on_a_register,), FIVE_YEARS_AGO)
    await factories.person(ctx, "New", "Starter")

    await retention.purge(ctx, NOW)

    async with ctx.db.read() as conn:
        names = set((await conn.execute(sa.select(people.c.first_name))).scalars())
    assert names == {"Ava", "New"}


async def test_a_purged_session_named_as_another_sessions_alternative_is_unlinked_not_blocking(
        ctx: AppContext, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    old = await marked_session(ctx, tutor, (ava,), SEVEN_YEARS_AGO)
    programme_id = await factories.programme(ctx, name="Catch-up programme")
    newer = await factories.session(ctx, programme_id, FIVE_YEARS_AGO, alternative_for_id=old, person_ids=(ava,))
    await factories._insert(ctx, catch_ups, person_id=ava, session_id=newer, alternative_session_id=old,
                            kind="alternative", created_at=FIVE_YEARS_AGO)

    await retention.purge(ctx, NOW)

    async with ctx.db.read() as conn:
        link = (await conn.execute(sa.select(sessions.c.alternative_for_id).where(sessions.c.id == newer))).one()
        catch_up = (await conn.execute(sa.select(catch_ups.c.alternative_session_id))).one()
    assert (await count(ctx, sessions, sessions.c.id == old), link[0], catch_up[0]) == (0, None, None)


async def test_each_purge_is_audited_with_what_it_deleted(ctx: AppContext, tutor: Principal) -> None:
    ava = await factories.person(ctx, "Ava", "Example")
    await marked_session(ctx, tutor, (ava,), SEVEN_YEARS_AGO)

    await retention.purge(ctx, NOW)

    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(audit_log).where(audit_log.c.action == "purge"))).one()
    assert row.after["deleted"]["registers"] == 1
    assert row.actor == "retention"


def test_the_daily_run_is_at_three_in_the_morning_local_time() -> None:
    london = ZoneInfo("Europe/London")
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert retention.next_run(summer, london) == datetime(2026, 7, 2, 2, 0, tzinfo=UTC)


def test_the_daily_run_keeps_to_local_time_across_the_spring_clock_change() -> None:
    london = ZoneInfo("Europe/London")
    saturday_night = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # the clocks go forward at 01:00 on the 29th
    first = retention.next_run(saturday_night, london)
    second = retention.next_run(first, london)
    assert (first, second) == (datetime(2026, 3, 29, 2, 0, tzinfo=UTC), datetime(2026, 3, 30, 2, 0, tzinfo=UTC))


async def test_the_daily_job_runs_for_the_apps_lifetime_and_stops_with_it(ctx: AppContext) -> None:
    async with retention.run_retention(ctx):
        running = [t for t in asyncio.all_tasks() if t.get_name() == "checkin-retention"]
        assert len(running) == 1 and not running[0].done()
    assert running[0].cancelled()


def test_the_readme_lists_every_record_type_with_its_periods() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()
    for t in retention.RECORD_TYPES.values():
        assert f"| `{t.name}` | {t.description} | {t.default_days} | {t.minimum_days} |" in readme
