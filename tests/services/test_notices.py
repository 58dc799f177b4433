"""Notices, cancellations, force majeure, catch-ups and the staged escalation, through the services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Forbidden, Invalid
from checkin.domain.model import MarkStatus, Role
from checkin.domain.principal import Principal
from checkin.domain.rules.presets import residential_events
from checkin.services.catchup import confirm_materials, record_catch_up
from checkin.services.deadlines import replan_session
from checkin.services.escalation import escalation_view, record_stage
from checkin.services.force_majeure import declare_force_majeure
from checkin.services.notices import record_notice
from checkin.storage.tables import deadlines, deliveries, events, roster, sessions, tasks
from tests import factories
from tests.conftest import both_backends, make_user
from tests.services.test_completion import NOW, World, mark, psw, standing, states, week, world


async def notice(w: World, session_id: int, reason: str = "Illness", *, at: Any = None, **extra: Any) -> dict[str, Any]:
    return await record_notice(w.ctx, w.manager, session_id, person_id=w.person_id, reason=reason,
                               given_by="Their line manager", now=at or NOW, **extra)


async def rows(ctx: AppContext, table: sa.Table, *where: Any) -> list[Any]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(sa.select(table).where(*where))).all())


async def future_psw(ctx: AppContext) -> World:
    """A PSW programme whose sessions are still to come (its clock is in January 2026)."""
    return await world(ctx, "psw", {"coaching": 4, "modules": 4, "peer": 2})


# NOTICE

@both_backends
async def test_a_notice_with_an_accepted_reason_is_recorded_and_pushed_on_the_session_channel(
        ctx: AppContext) -> None:
    w = await future_psw(ctx)
    woken: list[str] = []
    ctx.wakers["watcher"] = lambda: woken.append("watcher")
    sid = w.sessions["coaching"][0]
    found = await notice(w, sid, "illness", at=week(0) - timedelta(days=1))
    assert (found["reason"], found["accepted"], found["after_start"]) == ("Illness", True, False)
    pushed = await rows(ctx, events, events.c.channel == f"session:{sid}", events.c.type == "notice")
    assert [(e.seq, e.payload["person_id"], e.payload["notice"]["id"]) for e in pushed] == [
        (pushed[0].seq, w.person_id, found["id"])]
    assert woken == ["watcher"]


async def test_usual_school_duties_is_not_an_accepted_reason(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    sid = w.sessions["modules"][0]
    found = await notice(w, sid, "Usual school duties", at=week(0) - timedelta(days=2))
    assert found["accepted"] is False
    after = await standing(ctx, w.person_id, w.programme_id, now=week(5))
    assert after.items[4].record.category.value == "unauthorised"


async def test_an_accepted_notice_makes_an_unmarked_absence_authorised(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    await notice(w, w.sessions["coaching"][0], at=week(0) - timedelta(days=1))
    after = await standing(ctx, w.person_id, w.programme_id, now=week(1))
    assert (after.items[0].record.category.value, after.items[0].outcome.value) == ("authorised", "missed")


async def test_a_reason_not_on_the_programme_list_is_refused(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    with pytest.raises(Invalid) as refused:
        await notice(w, w.sessions["coaching"][0], "Went fishing", at=week(0) - timedelta(days=1))
    assert (refused.value.code, refused.value.field) == ("unknown_reason", "reason")


async def test_a_notice_received_after_the_start_is_recorded_with_its_lateness(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    found = await notice(w, w.sessions["coaching"][0], at=week(0) + timedelta(minutes=47))
    assert (found["after_start"], found["minutes_after_start"]) == (True, 47)


async def test_someone_not_on_the_roster_cannot_be_given_a_notice(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    other = await factories.person(ctx, "Zed", "Quill")
    with pytest.raises(Invalid) as refused:
        await record_notice(ctx, w.manager, w.sessions["coaching"][0], person_id=other, reason="Illness",
                            given_by="", now=week(0) - timedelta(days=1))
    assert refused.value.code == "not_on_roster"


async def test_a_tutor_cannot_record_a_notice_for_a_session_they_do_not_teach(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    tutor_id = await make_user(ctx, "tess.tutor@example.org", Role.TUTOR)
    tutor = Principal(tutor_id, ctx.extras["org_id"], Role.TUTOR, "Tess", "cookie")
    with pytest.raises(Forbidden) as refused:
        await record_notice(ctx, tutor, w.sessions["coaching"][0], person_id=w.person_id, reason="Illness",
                            given_by="", now=week(0) - timedelta(days=1))
    assert refused.value.code == "not_your_session"


# LATE-CANCEL

async def test_a_participant_cancelling_23_hours_before_coaching_spends_the_session(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    sid = w.sessions["coaching"][0]
    found = await notice(w, sid, "Diary clash", kind="cancellation", cancelled_by="participant",
                         at=week(0) - timedelta(hours=23))
    assert (found["effect"], found["accepted"]) == ("spent", False)
    after = await standing(ctx, w.person_id, w.programme_id, now=week(0) - timedelta(hours=22))
    assert (after.items[0].outcome.value, after.result.overall.spent) == ("spent", 1)


async def test_a_participant_cancelling_25_hours_before_is_excused(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    found = await notice(w, w.sessions["coaching"][0], "Diary clash", kind="cancellation",
                         cancelled_by="participant", at=week(0) - timedelta(hours=25))
    assert found["effect"] == "excused"
    after = await standing(ctx, w.person_id, w.programme_id, now=week(1))
    assert after.items[0].outcome.value == "excluded"


async def test_a_coach_cancellation_never_counts_against_and_opens_a_reschedule_task(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    sid = w.sessions["coaching"][0]
    found = await notice(w, sid, "Coach unwell", kind="cancellation", cancelled_by="coach",
                         at=week(0) - timedelta(hours=2))
    assert found["effect"] == "reschedule_task"
    assert [(t.kind, t.person_id) for t in await rows(ctx, tasks, tasks.c.session_id == sid)] == [
        ("reschedule", w.person_id)]
    after = await standing(ctx, w.person_id, w.programme_id, now=week(1))
    assert (after.items[0].outcome.value, after.result.overall.spent) == ("excluded", 0)


async def test_a_cancellation_must_say_who_cancelled(ctx: AppContext) -> None:
    w = await future_psw(ctx)
    with pytest.raises(Invalid) as refused:
        await notice(w, w.sessions["coaching"][0], "Clash", kind="cancellation", at=week(0) - timedelta(days=2))
    assert refused.value.field == "cancelled_by"


# FORCE-MAJEURE

@both_backends
async def test_force_majeure_notifies_participants_drops_windows_and_offers_catch_up(ctx: AppContext) -> None:
    w = await world(ctx, "amb_executive_leaders", {"days": 2}, kind="residential",
                    policy=residential_events().to_dict())
    sid = w.sessions["days"][0]
    other = await factories.person(ctx, "Tomasz", "Byrne")
    third = await factories.person(ctx, "Alessia", "Marchetti", email="")
    before = week(0) - timedelta(hours=3)

    async def add(tx: Any) -> None:
        for pid in (other, third):
            await tx.conn.execute(sa.insert(roster).values(session_id=sid, person_id=pid, added_at=NOW))
        await replan_session(tx, ctx, sid, before)

    await ctx.db.write(add)
    assert {d.rule_id for d in await rows(ctx, deadlines, deadlines.c.session_id == sid)} == {"EVENTS-CALL"}
    found = await declare_force_majeure(ctx, w.manager, sid, "Snow has closed the roads to the venue", before)
    assert (found["status"], sorted(found["notified_person_ids"])) == ("force_majeure", sorted([w.person_id, other]))
    session = (await rows(ctx, sessions, sessions.c.id == sid))[0]
    assert (session.status, session.status_reason) == ("force_majeure", "Snow has closed the roads to the venue")
    sent = await rows(ctx, deliveries, deliveries.c.kind == "FORCE-MAJEURE")
    assert sorted(d.recipient for d in sent) == ["priya.okafor@example.org", "tomasz.byrne@example.org"]
    assert [t.kind for t in await rows(ctx, tasks, tasks.c.session_id == sid)] == ["catch_up_offer"]
    assert await rows(ctx, deadlines, deadlines.c.session_id == sid, deadlines.c.fired_at.is_(None)) == []
    pushed = await rows(ctx, events, events.c.channel == f"session:{sid}", events.c.type == "notice")
    assert pushed[-1].payload["kind"] == "force_majeure"


async def test_an_absence_from_a_force_majeure_session_is_left_out_of_the_percentages(ctx: AppContext) -> None:
    w = await world(ctx, "amb_executive_leaders", {"days": 2}, kind="residential")
    first, second = w.sessions["days"]
    await declare_force_majeure(ctx, w.manager, first, "Rail strike", week(0) - timedelta(hours=3))
    await mark(ctx, second, w.person_id, MarkStatus.PRESENT)
    after = await standing(ctx, w.person_id, w.programme_id)
    assert (after.result.overall.excluded, after.result.overall.percent, after.result.status.value) == (
        1, 100, "on_track")


async def test_a_session_already_affected_cannot_be_declared_again(ctx: AppContext) -> None:
    w = await world(ctx, "amb_executive_leaders", {"days": 1}, kind="residential")
    sid = w.sessions["days"][0]
    await declare_force_majeure(ctx, w.manager, sid, "Flooding", week(0) - timedelta(hours=3))
    with pytest.raises(Conflict):
        await declare_force_majeure(ctx, w.manager, sid, "Flooding", week(0) - timedelta(hours=2))


# CATCH-UP

async def test_materials_without_the_form_and_log_do_not_count_until_confirmed(ctx: AppContext) -> None:
    w = await psw(ctx)
    module = w.sessions["modules"][0]
    await mark(ctx, module, w.person_id, MarkStatus.ABSENT_AUTHORISED)
    sent = await record_catch_up(ctx, w.manager, w.person_id, session_id=module, kind="materials", now=NOW)
    assert sent["confirmed"] is False
    assert (await standing(ctx, w.person_id, w.programme_id)).items[4].outcome.value == "missed"
    done = await confirm_materials(ctx, w.manager, sent["id"], form_completed_at=NOW,
                                   reflective_log="What I took from the module on supervision.", now=NOW)
    assert (done["confirmed"], done["confirmed_by"]) == (True, w.manager.user_id)
    after = await standing(ctx, w.person_id, w.programme_id)
    assert (after.items[4].outcome.value, after.items[4].catch_up) == ("caught_up", "materials")


async def test_catch_up_counts_apart_from_live_attendance(ctx: AppContext) -> None:
    w = await psw(ctx)
    module = w.sessions["modules"][0]
    await mark(ctx, module, w.person_id, MarkStatus.ABSENT_AUTHORISED)
    await record_catch_up(ctx, w.manager, w.person_id, session_id=module, kind="materials", now=NOW,
                          form_completed_at=NOW, reflective_log="Notes and reflections.")
    modules = (await standing(ctx, w.person_id, w.programme_id)).result.elements["modules"]
    assert (modules.attended, modules.caught_up, modules.live_percent) == (0, 1, 0)


async def test_an_alternative_must_be_one_for_the_missed_session(ctx: AppContext) -> None:
    w = await psw(ctx)
    module, other = w.sessions["modules"][:2]
    with pytest.raises(Invalid) as refused:
        await record_catch_up(ctx, w.manager, w.person_id, session_id=module, kind="alternative",
                              alternative_session_id=other, now=NOW)
    assert refused.value.code == "not_an_alternative"


async def test_booking_an_alternative_puts_the_participant_on_its_roster(ctx: AppContext) -> None:
    w = await psw(ctx)
    module = w.sessions["modules"][0]
    await mark(ctx, module, w.person_id, MarkStatus.ABSENT_AUTHORISED)
    repeat = await factories.session(ctx, w.programme_id, week(30), element="modules", title="Module 1 (repeat)",
                                     alternative_for_id=module)
    booked = await record_catch_up(ctx, w.manager, w.person_id, session_id=module, kind="alternative",
                                   alternative_session_id=repeat, now=NOW)
    assert booked["confirmed"] is False
    assert [r.person_id for r in await rows(ctx, roster, roster.c.session_id == repeat)] == [w.person_id]
    await mark(ctx, repeat, w.person_id, MarkStatus.PRESENT)
    after = await standing(ctx, w.person_id, w.programme_id, now=week(31))
    assert after.items[4].outcome.value == "caught_up"


async def test_a_session_attended_in_full_has_nothing_to_catch_up(ctx: AppContext) -> None:
    w = await psw(ctx)
    module = w.sessions["modules"][0]
    await mark(ctx, module, w.person_id, MarkStatus.PRESENT)
    with pytest.raises(Conflict) as refused:
        await record_catch_up(ctx, w.manager, w.person_id, session_id=module, kind="materials", now=NOW)
    assert refused.value.code == "nothing_to_catch_up"


async def test_a_confirmed_catch_up_clears_the_at_risk_state(ctx: AppContext) -> None:
    w = await psw(ctx)
    days = w.sessions["residential"]
    for sid in days[:3]:
        await mark(ctx, sid, w.person_id, MarkStatus.PRESENT, reevaluate=w.programme_id)
    for sid in days[3:]:
        await mark(ctx, sid, w.person_id, MarkStatus.ABSENT_UNAUTHORISED, reevaluate=w.programme_id)
    assert (await states(ctx, w.person_id, w.programme_id))["PSW-MIN"] == "at_risk"
    await record_catch_up(ctx, w.manager, w.person_id, session_id=days[4], kind="materials", now=NOW,
                          form_completed_at=NOW, reflective_log="Reflections on day five.")
    assert (await states(ctx, w.person_id, w.programme_id))["PSW-MIN"] == "on_track"


# PSW-ESCALATE

async def test_escalation_stages_are_recorded_in_order_with_who_and_when(ctx: AppContext) -> None:
    w = await psw(ctx)
    first = await record_stage(ctx, w.manager, w.person_id, programme_id=w.programme_id,
                               stage="explanation_requested", note="E-mailed after the missed coaching", now=NOW)
    assert [s["id"] for s in first["next"]] == ["reminder_of_expectations", "resolved"]
    later = NOW + timedelta(days=7)
    second = await record_stage(ctx, w.manager, w.person_id, programme_id=w.programme_id,
                                stage="reminder_of_expectations", note="", now=later)
    assert [(h["stage"], h["recorded_by_name"], h["at"]) for h in second["history"]] == [
        ("explanation_requested", "Morgan Manager", NOW.isoformat()),
        ("reminder_of_expectations", "Morgan Manager", later.isoformat())]
    assert second["current"] == "reminder_of_expectations"


async def test_an_escalation_stage_cannot_be_skipped(ctx: AppContext) -> None:
    w = await psw(ctx)
    await record_stage(ctx, w.manager, w.person_id, programme_id=w.programme_id, stage="explanation_requested",
                       note="", now=NOW)
    with pytest.raises(Conflict) as refused:
        await record_stage(ctx, w.manager, w.person_id, programme_id=w.programme_id, stage="withdrawal_considered",
                           note="", now=NOW)
    assert refused.value.code == "stage_out_of_order"


async def test_a_decision_needs_a_note(ctx: AppContext) -> None:
    w = await psw(ctx)
    with pytest.raises(Invalid) as refused:
        await record_stage(ctx, w.manager, w.person_id, programme_id=w.programme_id, stage="decision", note=" ",
                           now=NOW)
    assert refused.value.code == "note_required"


async def test_the_whole_ladder_up_to_appeal_then_resolved_opens_a_new_one(ctx: AppContext) -> None:
    w = await psw(ctx)
    ladder = ["reminder_of_expectations", "partnerships_contact", "withdrawal_considered", "decision", "appeal",
              "resolved", "explanation_requested"]
    for i, stage in enumerate(ladder):
        await record_stage(ctx, w.manager, w.person_id, programme_id=w.programme_id, stage=stage,
                           note=f"Step {i}", now=NOW + timedelta(days=i))
    async with ctx.db.read() as conn:
        view = await escalation_view(conn, w.person_id, w.programme_id)
    assert [h["stage"] for h in view["history"]] == ladder
    assert (view["current"], view["open"]) == ("explanation_requested", True)
