"""DB marks to completion statuses with the policies' numbers, and one escalation per crossing.

Helpers here (`World`, `mark`, `enrol`) are shared by the notice, Zoom, report and browser tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.completion import REQUIREMENT_PRESETS, requirements_to_json
from checkin.domain.model import MarkSource, MarkStatus, Role
from checkin.domain.principal import Principal, system
from checkin.services.completion import load_programme, load_standings, reevaluate_person, state_key
from checkin.services.marking import record_mark
from checkin.storage.database import Tx
from checkin.storage.tables import (
    alerts,
    catch_ups,
    completion_states,
    deliveries,
    enrolments,
    organisations,
    sessions,
)
from tests import factories
from tests.conftest import both_backends, make_user

# Mondays at 09:00 UTC from 5 January 2026 (winter time, so 09:00 in London too).
FIRST = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def week(n: int, day: int = 0) -> datetime:
    return FIRST + timedelta(weeks=n, days=day)


def slot(i: int, per_week: int) -> datetime:
    """The i-th session when there are `per_week` a week: Monday to Friday, mornings then afternoons."""
    if per_week == 1:
        return week(i)
    weeks, within = divmod(i, per_week)
    return week(weeks, within % 5) + timedelta(hours=4 * (within // 5))


async def enrol(ctx: AppContext, person_id: int, programme_id: int, status: str = "active") -> None:
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(enrolments).values(person_id=person_id, programme_id=programme_id,
                                                           status=status, updated_at=ctx.clock()))

    await ctx.db.write(work)


async def mark(ctx: AppContext, session_id: int, person_id: int, status: MarkStatus, *, now: datetime | None = None,
               source: MarkSource = MarkSource.TABLET, reevaluate: int | None = None, **extra: Any) -> None:
    """A mark as the register records it; `reevaluate` (a programme id) re-evaluates in the same unit."""
    async with ctx.db.read() as conn:
        starts_at = (await conn.execute(sa.select(sessions.c.starts_at).where(sessions.c.id == session_id))).scalar()
    at = now or starts_at + timedelta(minutes=5)

    async def work(tx: Tx) -> None:
        await record_mark(tx, ctx, session_id=session_id, person_id=person_id, status=status,
                          code=extra.pop("code", None), source=source, actor=system(ctx.extras["org_id"]),
                          now=at, **extra)
        if reevaluate is not None:
            await reevaluate_person(tx, ctx, person_id, reevaluate, max(at, NOW))

    await ctx.db.write(work)


async def reevaluate(ctx: AppContext, person_id: int, programme_id: int, now: datetime = NOW) -> Any:
    async def work(tx: Tx) -> Any:
        return await reevaluate_person(tx, ctx, person_id, programme_id, now)

    return await ctx.db.write(work)


async def standing(ctx: AppContext, person_id: int, programme_id: int, now: datetime = NOW) -> Any:
    async with ctx.db.read() as conn:
        programme = await load_programme(conn, programme_id)
        return (await load_standings(conn, programme, now, [person_id]))[0]


async def states(ctx: AppContext, person_id: int, programme_id: int) -> dict[str, str]:
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(completion_states).where(
            completion_states.c.person_id == person_id, completion_states.c.programme_id == programme_id))).all()
    return {r.requirement: r.status for r in rows}


async def alerts_for(ctx: AppContext, person_id: int) -> list[Any]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(sa.select(alerts).where(alerts.c.person_id == person_id)
                                        .order_by(alerts.c.id))).all())


async def set_ap_office(ctx: AppContext, email: str = "ap.office@example.org") -> None:
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.update(organisations).values(ap_office_email=email))

    await ctx.db.write(work)


@dataclass
class World:
    """A programme with one participant and a run of sessions, element by element."""

    ctx: AppContext
    programme_id: int
    person_id: int
    sessions: dict[str, list[int]]
    manager: Principal


async def world(ctx: AppContext, preset: str, elements: dict[str, int], *, code_set: str = "plain",
                kind: str = "workshop", ap_pupil: bool = False, name: str = "", per_week: int = 1,
                policy: dict[str, Any] | None = None) -> World:
    """`elements` maps an element name to how many sessions it has, `per_week` a week (all in the past)."""
    manager_id = await make_user(ctx, f"manager.{preset}@example.org", Role.PROGRAMME_MANAGER, "Morgan Manager")
    programme_id = await factories.programme(
        ctx, name=name or f"Programme {preset}", code_set=code_set, preset="", policy=policy,
        requirements=requirements_to_json(REQUIREMENT_PRESETS[preset]))
    person_id = await factories.person(ctx, "Priya", "Okafor", ap_pupil=ap_pupil, school="Northfield Academy")
    await enrol(ctx, person_id, programme_id)
    made: dict[str, list[int]] = {}
    n = 0
    for element, count in elements.items():
        made[element] = []
        for _ in range(count):
            made[element].append(await factories.session(ctx, programme_id, slot(n, per_week), kind=kind,
                                                         element=element,
                                                         title=f"{element.title()} {len(made[element]) + 1}",
                                                         person_ids=(person_id,)))
            n += 1
    manager = Principal(manager_id, ctx.extras["org_id"], Role.PROGRAMME_MANAGER, "Morgan Manager", "cookie")
    return World(ctx, programme_id, person_id, made, manager)


async def materials(ctx: AppContext, person_id: int, session_id: int) -> None:
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(catch_ups).values(
            person_id=person_id, session_id=session_id, kind="materials", form_completed_at=NOW,
            reflective_log="Reviewed the slides and wrote up what I would change.", created_at=NOW))

    await ctx.db.write(work)


# PSW: coaching at least 3, modules 4, peer practice 2, and 80% of everything else.

async def psw(ctx: AppContext) -> World:
    return await world(ctx, "psw", {"coaching": 4, "modules": 5, "peer": 3, "residential": 5})


async def test_psw_participant_who_attended_everything_is_on_track(ctx: AppContext) -> None:
    w = await psw(ctx)
    for ids in w.sessions.values():
        for sid in ids:
            await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)
    found = await standing(ctx, w.person_id, w.programme_id)
    assert found.result.status.value == "on_track"
    assert found.result.result("PSW-MIN:coaching").current == 4


async def test_psw_two_missed_coaching_sessions_of_four_mean_cannot_complete(ctx: AppContext) -> None:
    w = await psw(ctx)
    coaching = w.sessions["coaching"]
    await mark(ctx, coaching[0], w.person_id, MarkStatus.PRESENT)
    await mark(ctx, coaching[1], w.person_id, MarkStatus.PRESENT)
    await mark(ctx, coaching[2], w.person_id, MarkStatus.ABSENT_UNAUTHORISED)
    await mark(ctx, coaching[3], w.person_id, MarkStatus.ABSENT_AUTHORISED)
    found = await standing(ctx, w.person_id, w.programme_id)
    coaching_result = found.result.result("PSW-MIN:coaching")
    assert (coaching_result.status.value, coaching_result.current, coaching_result.best) == ("cannot_complete", 2, 2)


async def test_psw_catch_up_does_not_count_for_coaching_but_does_for_modules(ctx: AppContext) -> None:
    w = await psw(ctx)
    for sid in w.sessions["coaching"][:2] + w.sessions["modules"][:3]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)
    for sid in w.sessions["coaching"][2:] + w.sessions["modules"][3:]:
        await mark(ctx, sid, w.person_id, MarkStatus.ABSENT_AUTHORISED)
        await materials(ctx, w.person_id, sid)
    found = await standing(ctx, w.person_id, w.programme_id)
    assert found.result.result("PSW-MIN:coaching").status.value == "cannot_complete"
    modules = found.result.result("PSW-MIN:modules")
    assert (modules.status.value, modules.current) == ("on_track", 5)


async def test_psw_below_80_percent_of_residential_days_is_at_risk_until_caught_up(ctx: AppContext) -> None:
    w = await psw(ctx)
    days = w.sessions["residential"]
    for sid in days[:3]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)
    for sid in days[3:]:
        await mark(ctx, sid, w.person_id, MarkStatus.ABSENT_UNAUTHORISED)
    assert (await standing(ctx, w.person_id, w.programme_id)).result.result("PSW-MIN").status.value == "at_risk"
    await materials(ctx, w.person_id, days[3])
    other = (await standing(ctx, w.person_id, w.programme_id)).result.result("PSW-MIN")
    assert (other.status.value, other.current) == ("on_track", 80)


async def test_psw_crossing_raises_one_psw_min_alert_and_later_marks_raise_none(ctx: AppContext) -> None:
    w = await psw(ctx)
    coaching = w.sessions["coaching"]
    await mark(ctx, coaching[0], w.person_id, MarkStatus.PRESENT, reevaluate=w.programme_id)
    await mark(ctx, coaching[1], w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    assert [a.rule_id for a in await alerts_for(ctx, w.person_id)] == ["PSW-MIN"]
    assert (await states(ctx, w.person_id, w.programme_id))["PSW-MIN:coaching"] == "at_risk"
    await mark(ctx, w.sessions["modules"][0], w.person_id, MarkStatus.PRESENT, reevaluate=w.programme_id)
    await mark(ctx, w.sessions["peer"][0], w.person_id, MarkStatus.PRESENT, reevaluate=w.programme_id)
    assert len(await alerts_for(ctx, w.person_id)) == 1


async def test_psw_a_further_step_down_to_cannot_complete_raises_a_second_alert(ctx: AppContext) -> None:
    w = await psw(ctx)
    coaching = w.sessions["coaching"]
    await mark(ctx, coaching[0], w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    await mark(ctx, coaching[1], w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    raised = await alerts_for(ctx, w.person_id)
    assert [(a.rule_id, a.kind) for a in raised] == [("PSW-MIN", "completion_at_risk"),
                                                     ("PSW-MIN", "completion_cannot_complete")]
    assert raised[1].facts["previous_status"] == "at_risk"


async def test_recovering_and_falling_again_is_a_new_crossing(ctx: AppContext) -> None:
    w = await psw(ctx)
    coaching = w.sessions["coaching"]
    await mark(ctx, coaching[0], w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    await mark(ctx, coaching[0], w.person_id, MarkStatus.PRESENT, reevaluate=w.programme_id,
               now=week(0) + timedelta(hours=2), reason="Register corrected")
    assert (await states(ctx, w.person_id, w.programme_id))["PSW-MIN:coaching"] == "on_track"
    await mark(ctx, coaching[1], w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    assert [a.rule_id for a in await alerts_for(ctx, w.person_id)] == ["PSW-MIN", "PSW-MIN"]


# AMB Executive Leaders: 100% of content, at least 80% live and no more than 20% by catch-up.

async def test_executive_leaders_eight_live_and_two_caught_up_of_ten_is_met(ctx: AppContext) -> None:
    w = await world(ctx, "amb_executive_leaders", {"sessions": 10})
    ids = w.sessions["sessions"]
    for sid in ids[:8]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)
    for sid in ids[8:]:
        await mark(ctx, sid, w.person_id, MarkStatus.ABSENT_AUTHORISED)
        await materials(ctx, w.person_id, sid)
    found = await standing(ctx, w.person_id, w.programme_id)
    assert (found.result.status.value, found.result.overall.attended, found.result.overall.caught_up) == (
        "on_track", 8, 2)


async def test_executive_leaders_seven_live_of_ten_cannot_complete_even_with_catch_up(ctx: AppContext) -> None:
    w = await world(ctx, "amb_executive_leaders", {"sessions": 10})
    ids = w.sessions["sessions"]
    for sid in ids[:7]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)
    for sid in ids[7:]:
        await mark(ctx, sid, w.person_id, MarkStatus.ABSENT_AUTHORISED)
        await materials(ctx, w.person_id, sid)
    await reevaluate(ctx, w.person_id, w.programme_id)
    assert (await states(ctx, w.person_id, w.programme_id))["LIVE-80"] == "cannot_complete"
    assert [a.rule_id for a in await alerts_for(ctx, w.person_id)] == ["LIVE-80"]


async def test_leaving_halfway_counts_as_missed_until_caught_up(ctx: AppContext) -> None:
    w = await world(ctx, "amb_executive_leaders", {"sessions": 5})
    ids = w.sessions["sessions"]
    for sid in ids[:4]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)
    await mark(ctx, ids[4], w.person_id, MarkStatus.PRESENT, now=week(4))
    await mark(ctx, ids[4], w.person_id, MarkStatus.LEFT_EARLY, now=week(4) + timedelta(minutes=30))
    found = await standing(ctx, w.person_id, w.programme_id)
    assert found.items[-1].outcome.value == "missed"
    assert found.items[-1].record.minutes_missed_share == 0.5
    await materials(ctx, w.person_id, ids[4])
    assert (await standing(ctx, w.person_id, w.programme_id)).items[-1].outcome.value == "attended"


async def test_leaving_ten_minutes_early_needs_no_catch_up(ctx: AppContext) -> None:
    w = await world(ctx, "amb_executive_leaders", {"sessions": 1})
    sid = w.sessions["sessions"][0]
    await mark(ctx, sid, w.person_id, MarkStatus.PRESENT, now=week(0) + timedelta(minutes=1))
    await mark(ctx, sid, w.person_id, MarkStatus.LEFT_EARLY, now=week(0) + timedelta(minutes=50))
    assert (await standing(ctx, w.person_id, w.programme_id)).items[0].outcome.value == "attended"


# AMB NPQ alliance: no more than 2 sessions missed, each with a catch-up.

async def test_npq_alliance_two_missed_both_caught_up_is_on_track(ctx: AppContext) -> None:
    w = await world(ctx, "amb_npq_alliance", {"sessions": 6})
    ids = w.sessions["sessions"]
    for sid in ids[:4]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)
    for sid in ids[4:]:
        await mark(ctx, sid, w.person_id, MarkStatus.ABSENT_AUTHORISED)
        await materials(ctx, w.person_id, sid)
    result = (await standing(ctx, w.person_id, w.programme_id)).result.result("MAX-MISSED")
    assert (result.status.value, result.current) == ("on_track", 2)


async def test_npq_alliance_an_alternative_session_attended_makes_good_the_one_missed(ctx: AppContext) -> None:
    w = await world(ctx, "amb_npq_alliance", {"sessions": 3})
    ids = w.sessions["sessions"]
    for sid in ids[:2]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)
    await mark(ctx, ids[2], w.person_id, MarkStatus.ABSENT_AUTHORISED)
    assert (await standing(ctx, w.person_id, w.programme_id)).result.status.value == "at_risk"
    alternative = await factories.session(ctx, w.programme_id, week(3), kind="workshop", element="sessions",
                                          title="Sessions 3 (repeat)", alternative_for_id=ids[2],
                                          person_ids=(w.person_id,))
    await mark(ctx, alternative, w.person_id, MarkStatus.PRESENT)
    found = await standing(ctx, w.person_id, w.programme_id)
    assert (found.result.status.value, [i.catch_up for i in found.items]) == ("on_track", [None, None, "alternative"])
    assert len(found.items) == 3


async def test_npq_alliance_a_third_missed_session_cannot_complete(ctx: AppContext) -> None:
    w = await world(ctx, "amb_npq_alliance", {"sessions": 6})
    ids = w.sessions["sessions"]
    for sid in ids[:3]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)
    for sid in ids[3:]:
        await mark(ctx, sid, w.person_id, MarkStatus.ABSENT_AUTHORISED)
        await materials(ctx, w.person_id, sid)
    await reevaluate(ctx, w.person_id, w.programme_id)
    result = (await standing(ctx, w.person_id, w.programme_id)).result.result("MAX-MISSED")
    assert (result.status.value, result.current) == ("cannot_complete", 3)
    assert [a.rule_id for a in await alerts_for(ctx, w.person_id)] == ["MAX-MISSED"]


# AP: escalated when attendance is below 90%, with the weekly percentages.

async def ap_world(ctx: AppContext, sessions_count: int) -> World:
    await set_ap_office(ctx)
    return await world(ctx, "ap", {"tuition": sessions_count}, code_set="dfe_2024", kind="ap_tuition",
                       ap_pupil=True, per_week=10)


@both_backends
async def test_ap_pupil_at_exactly_90_percent_is_not_escalated(ctx: AppContext) -> None:
    w = await ap_world(ctx, 10)
    ids = w.sessions["tuition"]
    for sid in ids[:9]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT, reevaluate=w.programme_id)
    await mark(ctx, ids[9], w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    found = await standing(ctx, w.person_id, w.programme_id)
    assert found.result.overall.attendance_percent == 90
    assert [a.rule_id for a in await alerts_for(ctx, w.person_id)] == []


@both_backends
async def test_ap_pupil_falling_below_90_percent_raises_ap_90_once_to_the_ap_office(ctx: AppContext) -> None:
    w = await ap_world(ctx, 10)
    ids = w.sessions["tuition"]
    for sid in ids[:8]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT, reevaluate=w.programme_id)
    await mark(ctx, ids[8], w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    await mark(ctx, ids[9], w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    raised = await alerts_for(ctx, w.person_id)
    assert [(a.rule_id, a.kind) for a in raised] == [("AP-90", "attendance_below_90")]
    facts = raised[0].facts
    assert (facts["rolling_percent"], facts["threshold"], facts["weeks"]) == (
        88.9, 90, [{"week": "2026-01-05", "percent": 88.9}])
    async with ctx.db.read() as conn:
        sent_to = (await conn.execute(sa.select(deliveries.c.recipient).where(
            deliveries.c.alert_id == raised[0].id))).scalars().all()
    assert "ap.office@example.org" in sent_to


async def test_a_week_below_90_percent_escalates_even_when_the_rolling_figure_is_above(ctx: AppContext) -> None:
    w = await ap_world(ctx, 20)
    ids = w.sessions["tuition"]
    for sid in ids[:10] + ids[10:18]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT, reevaluate=w.programme_id)
    await mark(ctx, ids[18], w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    raised = await alerts_for(ctx, w.person_id)
    assert [a.rule_id for a in raised] == ["AP-90"]
    assert raised[0].facts["rolling_percent"] == 94.7
    assert raised[0].facts["crossed"] == ["AP-90:w2026-01-12"]


async def test_a_force_majeure_absence_is_left_out_of_the_ap_percentage(ctx: AppContext) -> None:
    w = await ap_world(ctx, 10)
    ids = w.sessions["tuition"]
    for sid in ids[:9]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT)

    async def affected(tx: Tx) -> None:
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == ids[9]).values(
            status="force_majeure", status_reason="Snow closed the roads"))

    await ctx.db.write(affected)
    found = await standing(ctx, w.person_id, w.programme_id)
    assert (found.result.overall.attendance_percent, found.result.overall.excluded) == (100, 1)


async def test_a_withdrawn_participant_is_evaluated_but_not_escalated(ctx: AppContext) -> None:
    w = await psw(ctx)

    async def withdraw(tx: Tx) -> None:
        await tx.conn.execute(sa.update(enrolments).values(status="withdrawn"))

    await ctx.db.write(withdraw)
    await mark(ctx, w.sessions["coaching"][0], w.person_id, MarkStatus.ABSENT_UNAUTHORISED,
               reevaluate=w.programme_id)
    assert (await states(ctx, w.person_id, w.programme_id))["PSW-MIN:coaching"] == "at_risk"
    assert await alerts_for(ctx, w.person_id) == []


async def test_a_requirement_with_nothing_scheduled_is_not_escalated(ctx: AppContext) -> None:
    w = await world(ctx, "psw", {"coaching": 3})
    await mark(ctx, w.sessions["coaching"][0], w.person_id, MarkStatus.PRESENT, reevaluate=w.programme_id)
    stored = await states(ctx, w.person_id, w.programme_id)
    assert stored["PSW-MIN:modules"] == "on_track"
    assert (await standing(ctx, w.person_id, w.programme_id)).result.result("PSW-MIN:modules").status.value == (
        "cannot_complete")
    assert await alerts_for(ctx, w.person_id) == []


def test_a_long_element_key_is_cut_to_forty_characters_the_same_way_every_time() -> None:
    key = "PSW-MIN:" + "leadership development coaching and supervision"
    assert len(state_key(key)) == 40
    assert state_key(key) == state_key(key)
    assert state_key(key) != state_key(key + "s")
    assert state_key("PSW-MIN:coaching") == "PSW-MIN:coaching"


async def test_a_long_element_is_stored_under_its_cut_key(ctx: AppContext) -> None:
    element = "leadership development coaching and supervision"
    programme_id = await factories.programme(ctx, name="Long", code_set="plain", preset="",
                                             requirements=[{"type": "min_count", "element": element,
                                                            "min_sessions": 1}])
    person_id = await factories.person(ctx)
    await enrol(ctx, person_id, programme_id)
    sid = await factories.session(ctx, programme_id, week(0), element=element, person_ids=(person_id,))
    await mark(ctx, sid, person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=programme_id)
    stored = await states(ctx, person_id, programme_id)
    assert stored[state_key(f"PSW-MIN:{element}")] == "cannot_complete"
    assert all(len(k) <= 40 for k in stored)


async def test_a_standing_read_for_one_person_matches_theirs_read_with_the_whole_programme(ctx: AppContext) -> None:
    w = await psw(ctx)
    other = await factories.person(ctx, "Omar", "Bello")
    await enrol(ctx, other, w.programme_id)
    for n in range(3):  # sessions the first participant is not on, one of them missed by the other
        sid = await factories.session(ctx, w.programme_id, week(n, 2), element="coaching", person_ids=(other,))
        await mark(ctx, sid, other, MarkStatus.ABSENT_UNAUTHORISED if n == 0 else MarkStatus.PRESENT)
    await mark(ctx, w.sessions["coaching"][0], w.person_id, MarkStatus.ABSENT_UNAUTHORISED)
    async with ctx.db.read() as conn:
        programme = await load_programme(conn, w.programme_id)
        everyone = {s.person.id: s for s in await load_standings(conn, programme, NOW)}
    alone = await standing(ctx, w.person_id, w.programme_id)
    assert [a.session.id for a in alone.items] == [a.session.id for a in everyone[w.person_id].items]
    assert alone.result == everyone[w.person_id].result
    assert len(everyone[other].items) == 3
