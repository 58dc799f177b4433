"""Alert wording: every kind renders, outsiders never read safeguarding detail, subjects stay one line."""

from __future__ import annotations

import pytest

from checkin.services.alert_text import KIND_TEMPLATES, TEMPLATES, render_for, template_for

SECRET_NOTE = "Disclosed a worry about home; DSL to decide."
WHY = "Sam Pupil was not marked by 09:15. Call Pat Parent (Mother) on 07700 900123 now."
FACTS = {"name": "Sam Pupil", "session_title": "Maths 1:1", "date": "Monday 2 March 2026", "starts_at_local": "09:00",
         "note": SECRET_NOTE, "timeline": [{"local": "09:15", "what": "No-show alert sent."}],
         "emergency_contacts": [{"name": "Pat Parent", "relationship": "Mother", "phone": "07700 900123"}],
         "report_text": SECRET_NOTE, "raised_by": "Tara Tutor", "concern_kind": "safeguarding"}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("audience", ["staff", "external"])
def test_every_template_renders_a_subject_a_body_and_a_next_action_even_from_no_facts(
        name: str, audience: str) -> None:
    rendered = render_for(name, name, {}, audience)  # type: ignore[arg-type]

    assert rendered.subject.strip() != ""
    assert "Next action: " in rendered.text
    assert rendered.html.startswith("<!doctype html>")


@pytest.mark.parametrize("rule_id,kind", [("CONCERN", "concern"), ("AP-DSL", "safeguarding"),
                                          ("DSL-ACK", "safeguarding"), ("INCIDENT-REPORT", "incident_report"),
                                          ("AP-NOSHOW", "ap_non_attendance"), ("EMPLOYER-SAME-DAY", "employer_absence"),
                                          ("AP-REPORT", "ap_attendance"), ("WHATEVER", "unknown")])
def test_an_outsider_never_reads_the_why_a_note_a_timeline_or_an_emergency_number(rule_id: str, kind: str) -> None:
    rendered = render_for(kind, rule_id, FACTS, "external", title="Safeguarding: Sam Pupil", why=WHY,
                          link="http://testserver/safeguarding.html#alert-1")

    for secret in (SECRET_NOTE, WHY, "07700 900123", "No-show alert sent", "safeguarding.html", "Safeguarding"):
        assert secret not in rendered.text and secret not in rendered.html


def test_staff_read_the_why_the_timeline_and_the_numbers_to_call() -> None:
    rendered = render_for("safeguarding", "AP-DSL", FACTS, "staff", why=WHY, link="http://testserver/x")

    assert WHY in rendered.text
    assert "Timeline so far:\n- 09:15 No-show alert sent." in rendered.text
    assert "- Pat Parent (Mother): 07700 900123" in rendered.text
    assert "Open in checkin: http://testserver/x" in rendered.text


def test_a_line_break_in_the_facts_never_reaches_the_subject_line() -> None:
    rendered = render_for("no_show", "AP-NOSHOW", {**FACTS, "name": "Sam\r\nBcc: x@example.org"}, "staff")

    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_html_escapes_what_the_facts_say() -> None:
    rendered = render_for("concern", "CONCERN", {**FACTS, "note": "<script>alert(1)</script>"}, "staff")

    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


def test_a_kinds_meaning_beats_its_rule_where_it_must_and_the_rule_wins_otherwise() -> None:
    assert template_for("AP-REPORT", "report_undeliverable") == "GENERIC"
    assert template_for("EMPLOYER-REMOTE", "employer_absence") == "EMPLOYER-REMOTE"
    assert template_for("", "ap_non_attendance") == "AP-NOSHOW"
    assert template_for("NEW-RULE", "new_kind") == "GENERIC"
    assert set(KIND_TEMPLATES.values()) <= set(TEMPLATES)


def test_a_weekly_report_reaches_its_leads_with_the_weeks_lines() -> None:
    out = render_for("weekly_report", "WEEKLY-REPORT", {"programme_name": "Leaders", "week_label": "w/c 2 March",
                                                         "lines": ["Ava Example: 80%"], "at_risk": 1}, "external")
    assert template_for("WEEKLY-REPORT", "weekly_report") == "WEEKLY-REPORT"
    assert "Ava Example: 80%" in out.text and "Leaders" in out.subject


def test_a_force_majeure_notice_tells_the_participant_it_will_not_count_against_them() -> None:
    out = render_for("force_majeure", "FORCE-MAJEURE", {"name": "Ava Example", "session_title": "Residential",
                                                         "date": "2 March", "reason": "snow",
                                                         "catch_up_offered": True}, "external")
    assert "will not count against you" in out.text and "snow" in out.text and "catch-up" in out.text
