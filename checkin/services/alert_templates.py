"""One template per alert kind: the facts in plain language, then the next action."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checkin.services.alert_body import Body, Subject, Template, contact_lines, names, status_words, when, who


def _ap_report(s: Subject) -> Body:
    f = s.facts
    name, status = who(f), str(f.get("status") or "absent")
    correction = bool(f.get("correction"))
    if f.get("present"):
        headline = f"Attendance: {name} {'arrived late' if status == 'late' else 'present'}"
    else:
        headline = f"Attendance: {name} {status_words(status)}"
    body = Body(("Correction: " if correction else "") + f"{headline}, {f.get('session_title', '')}, "
                f"{f.get('date', '')}")
    if correction:
        before = f.get("previous") or {}
        said = status_words(str(before.get("status") or ""))
        if before.get("arrival_time"):
            said += f", arriving at {before['arrival_time']}"
        if before.get("reason"):
            said += f"; reason: {before['reason']}"
        body.para(f"This corrects the attendance report we sent earlier for this session. Earlier we reported: "
                  f"{said}.")
    body.para(_attendance_sentence(f, name))
    notice = f.get("notice")
    if isinstance(notice, Mapping) and notice.get("reason"):
        late = " (after the session had started)" if notice.get("after_start") else ""
        given = f" by {notice['given_by']}" if notice.get("given_by") else ""
        body.para(f"Notice of absence was given{given} at {notice.get('received_at_local', '')}{late}.")
    if correction:
        body.next_action = "Please update your records with this correction."
    elif f.get("present"):
        body.next_action = "No action is needed."
    elif f.get("reason_known"):
        body.next_action = "No action is needed unless the reason above is wrong; if it is, please reply."
    else:
        body.next_action = f"If you know why {name} is absent, please tell us by replying to this e-mail."
    return body


def _attendance_sentence(f: Mapping[str, Any], name: str) -> str:
    session = f"the {f.get('starts_at_local', '')} session \"{f.get('session_title', '')}\" on {f.get('date', '')}"
    if f.get("present"):
        text = f"{name} was present at {session}, arriving at {f.get('arrival_time') or 'the start'}"
        if f.get("minutes_late"):
            text += f", {f['minutes_late']} minutes late"
        if f.get("departure_time"):
            text += f", and left at {f['departure_time']}"
        return text + "."
    status = str(f.get("status") or "absent")
    if status == "not_possible":
        return f"Attendance at {session} was not possible for {name}. Reason: {f.get('reason') or 'not given'}."
    if status == "catch_up":
        return f"{name} is making up {session} through catch-up work."
    return f"{name} was absent from {session}. Reason: {f.get('reason') or 'not known'}."


def _ap_noshow(s: Subject) -> Body:
    f, name = s.facts, who(s.facts)
    if s.audience == "external":
        body = Body(f"Non-attendance: {name} did not arrive for {f.get('session_title', '')}, {f.get('date', '')}")
        body.para(f"{name} did not arrive for {when(f)}, and no contact had been received about the absence.")
        if f.get("action_taken"):
            body.para(f"What we are doing: {f['action_taken']}")
        body.next_action = (f"If you know where {name} is or why they are absent, please contact us straight away "
                            "by replying to this e-mail.")
        return body
    body = Body(f"No-show, no contact: {name} ({f.get('starts_at_local', '')} {f.get('session_title', '')})")
    body.para(s.why or f"{name} did not arrive for {when(f)} and no notice was given.")
    contacts = contact_lines(f.get("emergency_contacts"))
    if contacts:
        body.items(contacts, "Emergency contacts:")
    else:
        body.para("No emergency contact is on record.")
    body.next_action = ("Call the emergency contacts now and log each call's outcome in checkin. If nobody is "
                        "reached within the first hour, the designated safeguarding lead is alerted."
                        if contacts else "Tell the AP office now and try every other way of reaching the pupil.")
    return body


def _ap_dsl(s: Subject) -> Body:
    f, name = s.facts, who(s.facts)
    body = Body(f"SAFEGUARDING: {name} not seen and not reached ({f.get('starts_at_local', '')} "
                f"{f.get('session_title', '')})")
    body.para(s.why or f"{name} did not attend {when(f)} and nobody has been reached.")
    _timeline(body, f)
    contacts = contact_lines(f.get("emergency_contacts"))
    if contacts:
        body.items(contacts, "Emergency contacts:")
    police = bool(f.get("police_decision_required"))
    if police:
        body.para(f"{name} is not on a school roll: a missing-from-education report to the police must be "
                  "considered.")
    body.next_action = ("Acknowledge this alert on the safeguarding dashboard now, decide what to do and record "
                        "your decision" + (", including whether the police are informed." if police else "."))
    return body


def _timeline(body: Body, f: Mapping[str, Any]) -> None:
    steps = [f"{e.get('local', '')} {e.get('what', '')}".strip() for e in f.get("timeline") or ()
             if isinstance(e, Mapping)]
    if steps:
        body.items(steps, "Timeline so far:")


def _dsl_ack(s: Subject) -> Body:
    f = s.facts
    level = f.get("level", 1)
    body = Body(f"NOT ACKNOWLEDGED (escalation {level}): {f.get('alert_title') or s.title}")
    body.para(s.why or "A safeguarding alert has not been acknowledged.")
    if f.get("name"):
        body.para(f"It concerns {who(f)}, {when(f)}.")
    _timeline(body, f)
    contacts = contact_lines(f.get("emergency_contacts"))
    if contacts:
        body.items(contacts, "Emergency contacts:")
    body.next_action = ("Acknowledge the alert on the safeguarding dashboard now; it keeps escalating until "
                        "someone does.")
    return body


def _f2f_register(s: Subject) -> Body:
    f = s.facts
    body = Body(f"Register not completed: {f.get('session_title', '')} ({f.get('starts_at_local', '')})")
    body.para(s.why or f"The register for {when(f)} has not been completed.")
    unmarked = [str(n) for n in f.get("unmarked") or ()]
    if unmarked:
        body.para(f"Still unmarked ({len(unmarked)} of {f.get('roster_size', len(unmarked))}): {names(unmarked)}.")
    body.next_action = ("Complete the register now; late marks are still accepted and recorded as late entries."
                        if not f.get("stage") else
                        "Contact the tutor and make sure the register is completed now.")
    return body


def _tutor_early(s: Subject) -> Body:
    f = s.facts
    body = Body(f"Tutor not checked in: {f.get('session_title', '')} at {f.get('starts_at_local', '')}")
    body.para(s.why or f"No tutor has checked in to {when(f)}.")
    body.next_action = "Contact the tutor now and arrange cover if they cannot make it."
    return body


def _employer(s: Subject, remote: bool) -> Body:
    f, name = s.facts, who(s.facts)
    where = "remote session" if remote else "session"
    if s.audience == "external":
        body = Body(f"Absence: {name} did not attend {f.get('session_title', '')}, {f.get('date', '')}")
        reason = f" Reason given: {f['reason']}." if f.get("reason") else ""
        body.para(f"{name} did not attend the {f.get('starts_at_local', '')} {where} \"{f.get('session_title', '')}\" "
                  f"on {f.get('date', '')}. The absence is unauthorised.{reason}")
        body.next_action = (f"Please speak to {name} about the absence today, and reply to this e-mail if there is "
                            "anything we should know.")
        return body
    body = Body(f"Unauthorised absence{' (remote)' if remote else ''}: {name}")
    body.para(s.why or f"{name} did not attend the {where} {when(f)}; the absence is unauthorised.")
    contacts = contact_lines(f.get("employer_contacts"), with_email=True)
    if contacts:
        body.items(contacts, f"Employer ({f.get('employer') or 'on record'}):")
    body.next_action = (f"Contact {f.get('employer') or 'the employer'} this morning and log the outcome as a "
                        "follow-up." if remote else "The employer has been e-mailed; log any reply as a follow-up.")
    return body


def _events_call(s: Subject) -> Body:
    f, name = s.facts, who(s.facts)
    body = Body(f"Call list: {name} missed {f.get('session_title', '')}")
    body.para(s.why or f"{name} has not arrived at {when(f)} and gave no notice.")
    phones = contact_lines(f.get("phones") or f.get("contacts") or f.get("emergency_contacts"))
    if f.get("phone"):
        phones.insert(0, f"{name}: {f['phone']}")
    if phones:
        body.items(phones, "Numbers to call:")
    body.next_action = (f"Call {name} and record the outcome on the events board (reached, voicemail, no answer, "
                        "e-mail sent).")
    return body


def _rebook(s: Subject) -> Body:
    f, name = s.facts, who(s.facts)
    overdue = bool(f.get("overdue")) or s.kind == "rebook_overdue"
    due_by = f.get("rebook_by") or f.get("due_by") or "the due date"
    body = Body(f"{'Overdue: ' if overdue else ''}Rebook 1-2-1 for {name} ({f.get('session_title', '')}, "
                f"{f.get('date', '')})")
    body.para(s.why or f"{name} missed the 1-2-1 \"{f.get('session_title', '')}\" on {f.get('date', '')}. An "
              f"alternative session must be agreed by {due_by}.")
    if overdue and not s.why:
        body.para(f"This was due by {due_by} and is now overdue.")
    body.next_action = f"Agree an alternative session with {name} and record it."
    return body


def _concern(s: Subject) -> Body:
    f, name = s.facts, who(s.facts)
    kind = str(f.get("concern_kind") or "safeguarding")
    body = Body(f"Concern raised ({kind}): {name}")
    raised_by = f.get("raised_by") or "A member of staff"
    body.para(f"{raised_by} raised a {kind} concern about {name} during {when(f)}.")
    if f.get("note"):
        body.para(f"Their note: {f['note']}")
    body.next_action = (f"Acknowledge the concern on the safeguarding dashboard, speak to {raised_by}, and record "
                        "your decision.")
    return body


def _delivery_failed(s: Subject) -> Body:
    f = s.facts
    body = Body(f"Delivery failed: {f.get('original_kind', 'a message')} to {f.get('recipient', '')}")
    body.para(f"A {f.get('channel', '')} message (\"{f.get('original_subject', '')}\") to {f.get('recipient', '')} "
              f"({str(f.get('recipient_kind', '')).replace('_', ' ')}) could not be delivered after "
              f"{f.get('attempts', 0)} attempt(s). Last error: {f.get('last_error') or 'none recorded'}.")
    if f.get("endpoint_disabled"):
        body.para("The webhook endpoint answered 410 Gone and has been disabled; nothing more is sent to it.")
    body.next_action = ("Check the address or the receiving system, then retry the delivery from the outbox, or "
                        "reach the recipient another way.")
    return body


def _ap_90(s: Subject) -> Body:
    f, name = s.facts, who(s.facts)
    threshold = f.get("threshold", 90)
    body = Body(f"Attendance below {threshold}%: {name} ({f.get('rolling_percent', '?')}%)")
    body.para(s.why or f"{name}'s attendance is {f.get('rolling_percent', '?')}% (rolling), below the "
              f"{threshold}% threshold.")
    weeks = [f"Week of {w.get('week', '')}: {w.get('percent', '?')}%" for w in f.get("weeks") or ()
             if isinstance(w, Mapping)]
    if weeks:
        body.items(weeks, "Weekly attendance:")
    body.next_action = (f"Review {name}'s attendance with their school or local authority and agree the next "
                        "escalation step.")
    return body


def _report(s: Subject, incident: bool) -> Body:
    f = s.facts
    label = "Incident report" if incident else "Session report"
    body = Body(f"{label}: {f.get('session_title', '')} ({f.get('date', '')})")
    about = f" about {who(f)}" if f.get("name") else ""
    body.para(f"{f.get('written_by') or 'A member of staff'} wrote a {label.lower()}{about} for {when(f)}.")
    body.para(str(f.get("report_text") or ""))
    body.next_action = ("Acknowledge the incident report on the safeguarding dashboard and determine further "
                        "actions." if incident else "No action is needed; it is kept with the session.")
    return body


def _events_follow_up(s: Subject) -> Body:
    f, name = s.facts, who(s.facts)
    body = Body(f"We missed you at {f.get('session_title', '')}")
    body.para(f"Dear {name}, we expected you at {when(f)} and tried to call you, but could not reach you.")
    body.next_action = "Please reply to let us know why you could not attend and whether you need to catch up."
    return body


def _weekly_report(s: Subject) -> Body:
    f = s.facts
    body = Body(f"Weekly attendance: {f.get('programme_name', '')} ({f.get('week_label', '')})")
    body.items([str(line) for line in f.get("lines") or ()], "This week:")
    if f.get("at_risk"):
        body.para(f"{f['at_risk']} participant(s) are at risk of not completing.")
    body.next_action = str(f.get("next_action") or "Follow up with the participants listed as at risk.")
    return body


def _force_majeure(s: Subject) -> Body:
    f, name = s.facts, who(s.facts)
    body = Body(f"{f.get('session_title', 'Your session')} on {f.get('date', '')} is affected")
    body.para(f"Dear {name}, {when(f)} is affected by circumstances outside anyone's control"
              f"{': ' + str(f['reason']) if f.get('reason') else ''}. Missing it will not count against you.")
    if f.get("catch_up_offered"):
        body.para("A catch-up will be offered so that you do not miss the content.")
    body.next_action = str(f.get("next_action") or "No action is needed now; we will be in touch about catch-up.")
    return body


def _generic(s: Subject) -> Body:
    f = s.facts
    if s.audience == "external":
        about = f"{who(f)}'s attendance" if f.get("name") else "an attendance matter"
        body = Body(f"Update about {who(f)}" if f.get("name") else "Attendance update")
        where = f" at {when(f)}" if f.get("session_title") else ""
        body.para(f"There is an update about {about}{where}.")
        body.next_action = "Please reply to this e-mail if you have any questions."
        return body
    body = Body(s.title or s.kind.replace("_", " ").capitalize())
    body.para(s.why or s.title)
    if f.get("gaps"):
        body.items([str(g) for g in f["gaps"]])
    body.next_action = str(f.get("next_action") or "Open checkin to see the details and act on them.")
    return body


TEMPLATES: dict[str, Template] = {
    "AP-REPORT": _ap_report,
    "AP-NOSHOW": _ap_noshow,
    "AP-DSL": _ap_dsl,
    "DSL-ACK": _dsl_ack,
    "F2F-REGISTER": _f2f_register,
    "TUTOR-EARLY": _tutor_early,
    "EMPLOYER-SAME-DAY": lambda s: _employer(s, remote=False),
    "EMPLOYER-REMOTE": lambda s: _employer(s, remote=True),
    "EVENTS-CALL": _events_call,
    "REBOOK-121": _rebook,
    "CONCERN": _concern,
    "DELIVERY-FAILED": _delivery_failed,
    "AP-90": _ap_90,
    "SESSION-REPORT": lambda s: _report(s, incident=False),
    "INCIDENT-REPORT": lambda s: _report(s, incident=True),
    "EVENTS-FOLLOW-UP": _events_follow_up,
    "WEEKLY-REPORT": _weekly_report,
    "FORCE-MAJEURE": _force_majeure,
    "GENERIC": _generic,
}
# Templates written for readers outside the staff; every other one reads as GENERIC to them.
EXTERNAL_SAFE = frozenset({"AP-REPORT", "AP-NOSHOW", "EMPLOYER-SAME-DAY", "EMPLOYER-REMOTE", "EVENTS-FOLLOW-UP",
                           "WEEKLY-REPORT", "FORCE-MAJEURE", "GENERIC"})
