"""AP-REPORT, AP-NOSHOW and AP-DSL e-mails, from the rules' own facts to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import FollowUp, FollowUpOutcome, Mark, MarkSource, MarkStatus
from checkin.domain.rules import DeadlineSpec, Policy, RuleConfig, RuleContext, SendReport, TimelineEntry
from checkin.domain.rules.ap_dsl import evaluate_ap_dsl
from checkin.domain.rules.ap_noshow import evaluate_ap_noshow
from checkin.domain.rules.ap_report import correction_for, evaluate_ap_report
from checkin.services.dispatch import build_dispatcher
from checkin.settings import Settings
from tests.alerts.conftest import SmtpServer, smtp_server  # noqa: F401
from tests.services.alert_world import (
    AP_OFFICE,
    ATTENDANCE_EMAIL,
    LA_EMAIL,
    LONDON,
    PARENT_PHONE,
    START,
    World,
    apply,
    build_world,
    by_recipient,
    html_of,
    present_at,
    text_of,
)

SENDER = "alerts@checkin.example.org"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: SmtpServer) -> Settings:  # noqa: F811
    smtp_server.start()
    return Settings.from_env({}, data_dir=tmp_path / "data", database_url=database_url,
                             secret_key="test-secret-" + "x" * 40, public_base_url="http://testserver",
                             smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_from=SENDER)


@pytest.fixture
async def world(ctx: AppContext) -> World:
    return await build_world(ctx)


def context(**extra: object) -> RuleContext:
    policy = Policy(rules=(RuleConfig.default("AP-NOSHOW"), RuleConfig.default("AP-DSL")))
    return RuleContext(policy=policy, tz=LONDON, la_ap_address=LA_EMAIL, **extra)  # type: ignore[arg-type]


async def deliver(ctx: AppContext, clock: DrivenClock) -> None:
    dispatcher = build_dispatcher(ctx)
    while await dispatcher.run_once():
        pass


async def test_an_ap_report_of_a_present_pupil_reaches_the_attendance_contact_and_the_la_with_the_arrival_time(
        ctx: AppContext, world: World, smtp_server: SmtpServer, clock: DrivenClock) -> None:  # noqa: F811
    now = START + timedelta(minutes=15)
    clock.now = now
    actions = evaluate_ap_report(RuleConfig.default("AP-REPORT"), world.snapshot(present_at(4)),
                                 DeadlineSpec("AP-REPORT", None, now), now, context())

    await apply(ctx, world, actions, now)
    await deliver(ctx, clock)

    mail = by_recipient(smtp_server.handler.received)
    assert sorted(mail) == [ATTENDANCE_EMAIL, LA_EMAIL]
    [report] = mail[ATTENDANCE_EMAIL]
    assert str(report["Subject"]).strip() == "Attendance: Sam Pupil arrived late, Maths 1:1, Monday 2 March 2026"
    assert report["From"] == SENDER
    body = text_of(report)
    assert 'Sam Pupil was present at the 09:00 session "Maths 1:1" on Monday 2 March 2026, arriving at 09:04, ' \
           "4 minutes late." in body
    assert "Next action: No action is needed." in body
    assert "<p>Next action" not in body and "<strong>Next action:</strong>" in html_of(report)
    assert text_of(mail[LA_EMAIL][0]) == body


async def test_an_ap_report_of_an_absent_pupil_says_the_reason_is_not_known_and_asks_for_it(
        ctx: AppContext, world: World, smtp_server: SmtpServer, clock: DrivenClock) -> None:  # noqa: F811
    now = clock.now = START + timedelta(minutes=15)
    actions = evaluate_ap_report(RuleConfig.default("AP-REPORT"), world.snapshot(),
                                 DeadlineSpec("AP-REPORT", None, now), now, context())

    await apply(ctx, world, actions, now)
    await deliver(ctx, clock)

    [report] = by_recipient(smtp_server.handler.received)[ATTENDANCE_EMAIL]
    assert str(report["Subject"]).strip() == "Attendance: Sam Pupil absent, Maths 1:1, Monday 2 March 2026"
    body = text_of(report)
    assert "Reason: not known: no contact has been received." in body
    assert "If you know why Sam Pupil is absent, please tell us by replying to this e-mail." in body


async def test_a_mark_changed_after_the_report_sends_a_correction_saying_what_was_reported_before(
        ctx: AppContext, world: World, smtp_server: SmtpServer, clock: DrivenClock) -> None:  # noqa: F811
    now = clock.now = START + timedelta(minutes=15)
    [first, *_] = evaluate_ap_report(RuleConfig.default("AP-REPORT"), world.snapshot(),
                                     DeadlineSpec("AP-REPORT", None, now), now, context())
    assert isinstance(first, SendReport)
    correction = correction_for(first.facts, present_at(20))
    assert correction is not None

    clock.now = now + timedelta(minutes=10)
    await apply(ctx, world, [correction], clock.now)
    await deliver(ctx, clock)

    [mail] = by_recipient(smtp_server.handler.received)[ATTENDANCE_EMAIL]
    assert str(mail["Subject"]).strip().startswith("Correction: Attendance: Sam Pupil arrived late")
    body = text_of(mail)
    assert "Earlier we reported: absent; reason: not known: no contact has been received." in body
    assert "arriving at 09:20, 20 minutes late" in body
    assert "Next action: Please update your records with this correction." in body


async def test_an_ap_noshow_alert_gives_the_tutor_and_ap_office_the_emergency_contacts_to_call(
        ctx: AppContext, world: World, smtp_server: SmtpServer, clock: DrivenClock) -> None:  # noqa: F811
    now = clock.now = START + timedelta(minutes=15)
    actions = evaluate_ap_noshow(RuleConfig.default("AP-NOSHOW"), world.snapshot(),
                                 DeadlineSpec("AP-NOSHOW", None, now), now, context())

    await apply(ctx, world, actions, now)
    await deliver(ctx, clock)

    mail = by_recipient(smtp_server.handler.received)
    assert sorted(mail) == sorted([AP_OFFICE, "tutor@example.org", ATTENDANCE_EMAIL])
    staff = text_of(mail["tutor@example.org"][0])
    assert str(mail["tutor@example.org"][0]["Subject"]).strip() == "No-show, no contact: Sam Pupil (09:00 Maths 1:1)"
    assert f"- Pat Parent (Mother): {PARENT_PHONE}" in staff
    assert "Next action: Call the emergency contacts now and log each call's outcome" in staff
    assert text_of(mail[AP_OFFICE][0]) == staff


async def test_the_attendance_contact_is_told_of_the_no_show_and_the_action_without_anyones_phone_number(
        ctx: AppContext, world: World, smtp_server: SmtpServer, clock: DrivenClock) -> None:  # noqa: F811
    now = clock.now = START + timedelta(minutes=15)
    actions = evaluate_ap_noshow(RuleConfig.default("AP-NOSHOW"), world.snapshot(),
                                 DeadlineSpec("AP-NOSHOW", None, now), now, context())

    await apply(ctx, world, actions, now)
    await deliver(ctx, clock)

    [notice] = by_recipient(smtp_server.handler.received)[ATTENDANCE_EMAIL]
    body = text_of(notice)
    assert str(notice["Subject"]).strip() == \
        "Non-attendance: Sam Pupil did not arrive for Maths 1:1, Monday 2 March 2026"
    assert "What we are doing: We are calling the pupil's emergency contacts now." in body
    assert "designated safeguarding lead will be informed within the first hour" in body
    assert PARENT_PHONE not in body and "Pat Parent" not in body and "Call " not in body


async def test_an_ap_dsl_alert_reaches_the_dsl_and_deputy_with_the_timeline_and_the_police_decision(
        ctx: AppContext, world: World, smtp_server: SmtpServer, clock: DrivenClock) -> None:  # noqa: F811
    now = clock.now = START + timedelta(minutes=60)
    no_show = Mark(world.person_id, MarkStatus.NO_CONTACT, "N", START + timedelta(minutes=15),
                   source=MarkSource.WATCHER)
    tried = FollowUp(world.person_id, FollowUpOutcome.NO_ANSWER, START + timedelta(minutes=22), "Pat Parent", "phone")
    snapshot = world.snapshot(no_show)
    snapshot = type(snapshot)(snapshot.session, snapshot.roster, snapshot.marks, follow_ups=(tried,),
                              contacts=snapshot.contacts)
    steps = {world.person_id: (TimelineEntry(START + timedelta(minutes=15), "No-show alert sent to the tutor."),)}
    actions = evaluate_ap_dsl(RuleConfig.default("AP-DSL"), snapshot, DeadlineSpec("AP-DSL", None, now), now,
                              context(earlier_steps=steps))

    [alert_id] = await apply(ctx, world, actions, now)
    await deliver(ctx, clock)

    mail = by_recipient(smtp_server.handler.received)
    assert sorted(mail) == ["deputy@example.org", "dsl@example.org"]
    [dsl] = mail["dsl@example.org"]
    assert str(dsl["Subject"]).strip() == "SAFEGUARDING: Sam Pupil not seen and not reached (09:00 Maths 1:1)"
    body = text_of(dsl)
    assert "Timeline so far:\n- 09:00 The session \"Maths 1:1\" began." in body
    assert "- 09:15 No-show alert sent to the tutor." in body
    assert "- 09:22 Tried Pat Parent by phone: no answer." in body
    assert "a missing-from-education report to the police must be considered" in body
    assert "including whether the police are informed." in body
    assert f"Open in checkin: http://testserver/safeguarding.html#alert-{alert_id}" in body
