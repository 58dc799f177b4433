"""Programmes as services: presets, policy validation, and re-planning when the policy changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Conflict, DomainError, Invalid
from checkin.domain.model import Role, SessionKind, SessionMode
from checkin.domain.principal import Principal
from checkin.services import cohorts, programmes, rosters, sessions
from checkin.storage.database import Tx
from checkin.storage.tables import audit_log, completion_states, deadlines, marks
from checkin.storage.tables import programmes as programmes_t
from tests import factories
from tests.conftest import both_backends, make_user

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def boss(ctx: AppContext) -> Principal:
    uid = await make_user(ctx, "boss@example.org", Role.PROGRAMME_MANAGER, "Bea Boss")
    return Principal(uid, ctx.extras["org_id"], Role.PROGRAMME_MANAGER, "Bea Boss", "cookie")


async def _create(ctx: AppContext, boss: Principal, **data: Any) -> dict[str, Any]:
    return await programmes.create_programme(ctx, boss, {"name": "AP Tuition"} | data, ctx.clock())


async def _count(ctx: AppContext) -> int:
    async with ctx.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(programmes_t))).scalar_one())


async def _session_with_pupil(ctx: AppContext, boss: Principal, programme_id: int) -> int:
    pupil = await factories.person(ctx)
    made = await sessions.create_session(ctx, boss, {
        "programme_id": programme_id, "title": "Maths", "kind": SessionKind.AP_TUITION,
        "mode": SessionMode.FACE_TO_FACE, "starts_at": NINE, "ends_at": NINE + timedelta(hours=1)}, ctx.clock())
    await rosters.set_roster(ctx, boss, made["id"], [pupil], ctx.clock())
    return int(made["id"])


async def _due(ctx: AppContext, session_id: int) -> dict[str, datetime]:
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(deadlines.c.rule_id, deadlines.c.due_at)
                                   .where(deadlines.c.session_id == session_id))).all()
    return {r.rule_id: r.due_at for r in rows}


@both_backends
async def test_a_programme_from_the_ap_preset_gets_its_policy_requirements_and_school_codes(
        ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition")
    enabled = sorted(r["id"] for r in made["policy"]["rules"] if r["enabled"])
    assert (made["preset"], made["code_set"], enabled, made["requirements"]) == (
        "ap_tuition", "dfe_2024", ["AP-DSL", "AP-NOSHOW", "AP-REPORT", "DSL-ACK"],
        [{"type": "attendance_threshold", "percent": 90, "rule": "AP-90"}])


async def test_a_programme_without_a_preset_or_policy_has_no_live_rules(ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss)
    assert (made["preset"], made["code_set"], made["policy"]["rules"], made["requirements"]) == ("", "plain", [], [])


async def test_a_sent_policy_wins_over_the_presets(ctx: AppContext, boss: Principal) -> None:
    policy = {"rules": [{"id": "EVENTS-CALL", "offset_minutes": 45}]}
    made = await _create(ctx, boss, preset="coaching", policy=policy)
    assert ([(r["id"], r["offset_minutes"]) for r in made["policy"]["rules"]], made["requirements"][0]["type"]) == (
        [("EVENTS-CALL", 45)], "min_count")


@both_backends
async def test_a_policy_naming_an_unknown_rule_is_refused_with_its_field_and_nothing_is_stored(
        ctx: AppContext, boss: Principal) -> None:
    with pytest.raises(Invalid) as caught:
        await _create(ctx, boss, policy={"rules": [{"id": "NO-SUCH-RULE"}]})
    assert (caught.value.code, caught.value.field, await _count(ctx)) == ("unknown_rule", "policy.rules[0].id", 0)


async def test_a_negative_window_is_refused(ctx: AppContext, boss: Principal) -> None:
    with pytest.raises(Invalid) as caught:
        await _create(ctx, boss, policy={"rules": [{"id": "AP-REPORT", "offset_minutes": -5}]})
    assert (caught.value.code, caught.value.field) == ("negative_window", "policy.rules[0].offset_minutes")


async def test_malformed_requirements_are_refused(ctx: AppContext, boss: Principal) -> None:
    with pytest.raises(Invalid) as caught:
        await _create(ctx, boss, requirements=[{"type": "min_count", "element": "coaching"}])
    assert (caught.value.code, caught.value.field, await _count(ctx)) == ("invalid_requirement", "requirements", 0)


async def test_an_unknown_preset_is_refused(ctx: AppContext, boss: Principal) -> None:
    with pytest.raises(Invalid) as caught:
        await _create(ctx, boss, preset="no_such_preset")
    assert (caught.value.code, caught.value.field) == ("unknown_preset", "preset")


async def test_an_unknown_code_set_is_refused(ctx: AppContext, boss: Principal) -> None:
    with pytest.raises(Invalid) as caught:
        await _create(ctx, boss, code_set="klingon")
    assert (caught.value.code, caught.value.field) == ("unknown_code_set", "code_set")


async def test_a_no_show_code_missing_from_the_code_set_is_refused(ctx: AppContext, boss: Principal) -> None:
    policy = {"rules": [{"id": "AP-NOSHOW", "params": {"code": "Y7"}}]}
    with pytest.raises(Invalid) as caught:
        await _create(ctx, boss, code_set="plain", policy=policy)
    assert (caught.value.code, caught.value.field) == ("code_not_in_code_set", "policy.rules[0].params.code")


@both_backends
async def test_a_second_programme_with_the_same_name_is_a_conflict(ctx: AppContext, boss: Principal) -> None:
    await _create(ctx, boss, preset="ap_tuition")
    with pytest.raises(Conflict) as caught:
        await _create(ctx, boss, name="ap tuition")
    assert (caught.value.code, await _count(ctx)) == ("programme_name_taken", 1)


async def test_grace_minutes_and_follow_up_style_are_written_into_the_policy(ctx: AppContext,
                                                                            boss: Principal) -> None:
    made = await _create(ctx, boss, preset="residential_events", grace_minutes=5, follow_up_style="pattern_only")
    changed = await programmes.update_programme(ctx, boss, made["id"], {"grace_minutes": 10}, ctx.clock())
    assert (made["policy"]["grace_minutes"], made["policy"]["events_call_pattern_only"]) == (5, True)
    assert (changed["grace_minutes"], changed["policy"]["grace_minutes"], changed["follow_up_style"]) == (
        10, 10, "pattern_only")


@both_backends
async def test_changing_the_policy_re_plans_the_programmes_sessions(ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition")
    session_id = await _session_with_pupil(ctx, boss, made["id"])
    policy = made["policy"]
    policy["rules"] = [r | {"offset_minutes": 45} if r["id"] == "AP-DSL" else r for r in policy["rules"]]
    await programmes.update_programme(ctx, boss, made["id"], {"policy": policy}, ctx.clock())
    assert (await _due(ctx, session_id))["AP-DSL"] == NINE + timedelta(minutes=45)


@both_backends
async def test_choosing_another_preset_replaces_the_policy_and_its_deadlines(ctx: AppContext,
                                                                            boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition", code_set="plain")
    session_id = await _session_with_pupil(ctx, boss, made["id"])
    changed = await programmes.update_programme(ctx, boss, made["id"], {"preset": "apprenticeship_f2f"},
                                                ctx.clock())
    assert changed["code_set"] == "plain"
    assert sorted(await _due(ctx, session_id)) == ["EMPLOYER-SAME-DAY", "F2F-REGISTER", "TUTOR-EARLY"]


async def test_a_programme_with_marks_keeps_its_code_set(ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition")
    session_id = await _session_with_pupil(ctx, boss, made["id"])
    pupil = (await rosters.get_roster(ctx, boss, session_id))[0]["person_id"]

    async def mark(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(marks).values(session_id=session_id, person_id=pupil, status="present",
                                                      code="/", source="tablet", server_time=NINE, history_id=1))

    await ctx.db.write(mark)
    with pytest.raises(Conflict) as caught:
        await programmes.update_programme(ctx, boss, made["id"], {"code_set": "plain"}, ctx.clock())
    assert (caught.value.code, (await programmes.get_programme(ctx, boss, made["id"]))["code_set"]) == (
        "code_set_in_use", "dfe_2024")


async def test_a_programme_change_is_audited_with_before_and_after(ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition")
    await programmes.update_programme(ctx, boss, made["id"], {"qr_rotation_seconds": 30}, ctx.clock())
    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(audit_log).where(audit_log.c.entity == "programme",
                                                             audit_log.c.action == "update"))).one()
    assert (row.before, row.after) == ({"qr_rotation_seconds": 15}, {"qr_rotation_seconds": 30})


async def test_removing_every_requirement_drops_the_stored_states_but_the_judged_weeks(
        ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition")
    pupil = await factories.person(ctx)

    async def stored(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(completion_states), [
            dict(person_id=pupil, programme_id=made["id"], requirement=key, status="at_risk", updated_at=NINE)
            for key in ("overall", "AP-90:ap", "AP-90:ap:w2026-03-02")])

    await ctx.db.write(stored)
    await programmes.update_programme(ctx, boss, made["id"], {"requirements": []}, ctx.clock())
    async with ctx.db.read() as conn:
        keys = (await conn.execute(sa.select(completion_states.c.requirement))).scalars().all()
    assert keys == ["AP-90:ap:w2026-03-02"]


async def test_an_unknown_programme_is_not_found(ctx: AppContext, boss: Principal) -> None:
    with pytest.raises(DomainError) as caught:
        await programmes.update_programme(ctx, boss, 999, {"name": "X"}, ctx.clock())
    assert (caught.value.status, caught.value.code) == (404, "not_found")


@both_backends
async def test_cohorts_are_added_to_a_programme_and_listed(ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition")
    await cohorts.create_cohort(ctx, boss, made["id"], {"name": "Spring", "starts_on": date(2026, 4, 1),
                                                        "ends_on": date(2026, 7, 1)}, ctx.clock())
    listed = await cohorts.list_cohorts(ctx, boss, made["id"])
    assert [(c["name"], c["starts_on"]) for c in listed] == [("Spring", "2026-04-01")]


async def test_a_cohort_name_is_unique_within_its_programme(ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition")
    await cohorts.create_cohort(ctx, boss, made["id"], {"name": "Spring"}, ctx.clock())
    with pytest.raises(Conflict) as caught:
        await cohorts.create_cohort(ctx, boss, made["id"], {"name": "spring"}, ctx.clock())
    assert caught.value.code == "cohort_name_taken"


async def test_a_cohort_ending_before_it_starts_is_refused(ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition")
    with pytest.raises(Invalid) as caught:
        await cohorts.create_cohort(ctx, boss, made["id"], {"name": "Odd", "starts_on": date(2026, 4, 1),
                                                            "ends_on": date(2026, 3, 1)}, ctx.clock())
    assert (caught.value.code, caught.value.field) == ("ends_before_start", "ends_on")


async def test_an_empty_stored_policy_is_read_as_its_presets_when_the_programme_is_changed(
        ctx: AppContext, boss: Principal) -> None:
    programme_id = await factories.programme(ctx, preset="ap_tuition", policy={})
    changed = await programmes.update_programme(ctx, boss, programme_id, {"name": "AP Tuition North"}, ctx.clock())
    assert sorted(r["id"] for r in changed["policy"]["rules"] if r["enabled"]) == [
        "AP-DSL", "AP-NOSHOW", "AP-REPORT", "DSL-ACK"]


async def test_an_empty_policy_sent_on_purpose_switches_every_rule_off(ctx: AppContext, boss: Principal) -> None:
    made = await _create(ctx, boss, preset="ap_tuition")
    changed = await programmes.update_programme(ctx, boss, made["id"], {"policy": {}}, ctx.clock())
    assert changed["policy"]["rules"] == []
