"""E-mail wording per alert kind: the facts in plain language, then the next action.

A template is chosen from the alert's kind and rule (`template_for`) and written for one of
two audiences. Staff (tutors, managers, the AP office, the DSL chain, admins) get the whole
picture. Everyone outside the staff (attendance contacts, the local authority, employers,
line managers, a programme's point of contact) gets only what a template deliberately puts
in its external version: never the alert's `why`, a timeline, a concern's note, a decision
or anyone's emergency contacts. A kind without an external version falls back to a short
neutral notice rather than to the staff text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checkin.services.alert_body import Audience, Rendered, Subject
from checkin.services.alert_templates import EXTERNAL_SAFE, TEMPLATES

# Kinds the rules (and this package) give alerts and reports, mapped to the template they read as.
KIND_TEMPLATES: dict[str, str] = {
    "ap_attendance": "AP-REPORT", "ap_non_attendance": "AP-NOSHOW", "no_show": "AP-NOSHOW",
    "safeguarding": "AP-DSL", "register_incomplete": "F2F-REGISTER", "tutor_not_checked_in": "TUTOR-EARLY",
    "employer_absence": "EMPLOYER-SAME-DAY", "events_call": "EVENTS-CALL", "call": "EVENTS-CALL",
    "rebook": "REBOOK-121", "rebook_overdue": "REBOOK-121",
    "concern": "CONCERN", "delivery_failed": "DELIVERY-FAILED", "attendance_below_90": "AP-90",
    "session_report": "SESSION-REPORT", "incident_report": "INCIDENT-REPORT",
    "events_follow_up": "EVENTS-FOLLOW-UP", "report_undeliverable": "GENERIC",
}
# A kind whose meaning is fixed whatever rule raised it (the rule's own template would mislead).
_KIND_WINS = {"report_undeliverable", "delivery_failed", "concern", "session_report", "incident_report"}


def template_for(rule_id: str, kind: str) -> str:
    """The template name for an alert or report of this rule and kind ("GENERIC" when none fits)."""
    if kind in _KIND_WINS:
        return KIND_TEMPLATES[kind]
    if rule_id in TEMPLATES:
        return rule_id
    if kind in TEMPLATES:
        return kind
    return KIND_TEMPLATES.get(kind, "GENERIC")


def render(subject: Subject) -> Rendered:
    """The subject line, plain text and HTML of one message."""
    body = TEMPLATES[template_for(subject.rule_id, subject.kind)](subject)
    if subject.audience == "staff" and subject.link:
        body.link = subject.link
    line = " ".join(body.subject.split())[:300]
    return Rendered(line, body.text(), body.html())


def render_for(kind: str, rule_id: str, facts: Mapping[str, Any], audience: Audience, *, title: str = "",
               why: str = "", link: str = "") -> Rendered:
    """Render, sending an external reader the neutral notice when the kind has no external version."""
    name = template_for(rule_id, kind)
    if audience == "external" and name not in EXTERNAL_SAFE:
        rule_id, kind = "GENERIC", "GENERIC"
    return render(Subject(kind, rule_id, facts, audience, title, why, link))
