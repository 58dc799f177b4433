"""Completion states per participant and programme, and the escalation raised when one is crossed.

After anything that changes a participant's record (a mark, a notice, a catch-up, force
majeure) the service re-evaluates them, stores one state per requirement, and raises the
alert the requirement's rule names (AP-90, PSW-MIN, NPQ-90, ...) once per crossing: only a
step down from the stored state raises, so further marks at the same level raise nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from checkin.context import AppContext
from checkin.domain.completion import (
    AllMandatory,
    AttendanceThreshold,
    CompletionStatus,
    MinCount,
    MinPercent,
    Requirement,
    RequirementResult,
    SessionRecord,
    crossed,
    weekly_percentages,
)
from checkin.domain.model import AlertSeverity
from checkin.services.alerting import raise_alert, resolve_recipients
from checkin.services.completion_records import ProgrammeInfo, Standing, load_programme, load_standings
from checkin.services.completion_store import WEEK, save_states, stored_states
from checkin.storage.database import Tx

OVERALL = "overall"
KEY_LENGTH = 40  # completion_states.requirement is String(40)
# Who hears of a crossing: AP-90 names the AP office; completion rules go to the programme's managers.
RECIPIENTS: dict[str, tuple[str, ...]] = {"AP-90": ("ap_office", "manager")}
DEFAULT_RECIPIENTS = ("manager",)
ESCALATED_ENROLMENTS = frozenset({"active"})


def state_key(key: str) -> str:
    """A requirement key that fits the column: long ones keep a prefix and a hash of the whole key."""
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{key[:KEY_LENGTH - 9]}~{digest}"


def week_key(requirement_key: str, monday: date) -> str:
    return state_key(f"{requirement_key}{WEEK}{monday.isoformat()}")


def escalation_states(standing: Standing, programme: ProgrammeInfo, now: datetime) -> dict[str, tuple[str, str]]:
    """(status, rule id) per stored key: each requirement, AP-90's latest week, and the overall state.

    A requirement with nothing of its own scheduled yet reads "cannot complete" on the pages
    (nothing can be attended), but it is stored as on track: sessions are often scheduled a
    term at a time, and an escalation before the first session exists would be noise.
    """
    records = standing.records
    claimed = frozenset(r.element for r in programme.requirements if isinstance(r, MinCount | MinPercent)
                        and r.element)
    states: dict[str, tuple[str, str]] = {}
    for result in standing.result.requirements:
        scheduled = any(_in_scope(result.requirement, rec, claimed) for rec in records if not rec.excluded)
        status = result.status if scheduled else CompletionStatus.ON_TRACK
        states[state_key(result.key)] = (status.value, result.code)
        if isinstance(result.requirement, AttendanceThreshold):
            weeks = weekly_percentages(records, programme.tz, now)
            if weeks:
                monday, percent = weeks[-1]
                below = percent < result.requirement.percent
                week_status = CompletionStatus.AT_RISK if below else CompletionStatus.ON_TRACK
                states[week_key(result.key, monday)] = (week_status.value, result.code)
    overall = max((s for s, _ in states.values()), key=_severity, default=CompletionStatus.ON_TRACK.value)
    states[OVERALL] = (overall, "")
    return states


def _severity(status: str) -> int:
    return ["on_track", "at_risk", "cannot_complete"].index(status)


def _in_scope(requirement: Requirement, record: SessionRecord, claimed: frozenset[str]) -> bool:
    if isinstance(requirement, MinCount):
        return record.element == requirement.element
    if isinstance(requirement, MinPercent):
        return record.element == requirement.element if requirement.element else record.element not in claimed
    if isinstance(requirement, AllMandatory):
        return record.mandatory
    return True


async def reevaluate_person(tx: Tx, ctx: AppContext, person_id: int, programme_id: int,
                            now: datetime) -> Standing | None:
    """Re-evaluates one participant in the caller's transaction; raises an alert per rule crossed.

    Returns the standing, or None when the person is neither enrolled nor on a roster there.
    """
    return (await reevaluate_people(tx, ctx, [person_id], programme_id, now)).get(person_id)


async def reevaluate_people(tx: Tx, ctx: AppContext, person_ids: Iterable[int], programme_id: int,
                            now: datetime) -> dict[int, Standing]:
    """Re-evaluates many participants of one programme with one read of each kind; their standings by id.

    Escalations follow person by person (in id order), after every state is stored.
    """
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    programme = await load_programme(tx.conn, programme_id)
    found = {s.person.id: s for s in await load_standings(tx.conn, programme, now, wanted)}
    previous = await stored_states(tx.conn, list(found), programme_id)
    evaluated = {pid: escalation_states(standing, programme, now) for pid, standing in found.items()}
    states = {pid: {k: status for k, (status, _) in found_states.items()} for pid, found_states in evaluated.items()}
    await save_states(tx.conn, programme_id, {pid: (states[pid], previous.get(pid, {})) for pid in found}, now)
    for pid in sorted(found):
        standing, before = found[pid], previous.get(pid, {})
        if standing.enrolment_status not in ESCALATED_ENROLMENTS:
            continue
        by_rule: dict[str, list[str]] = {}
        for key, (status, rule_id) in evaluated[pid].items():
            if key != OVERALL and crossed(before.get(key), status):
                by_rule.setdefault(rule_id, []).append(key)
        for rule_id, keys in by_rule.items():
            await _escalate(tx, ctx, programme, standing, rule_id, keys, before, states[pid], now)
    return found


async def _escalate(tx: Tx, ctx: AppContext, programme: ProgrammeInfo, standing: Standing, rule_id: str,
                    keys: list[str], previous: dict[str, str], states: dict[str, str], now: datetime) -> int:
    results = [r for r in standing.result.requirements if r.code == rule_id]
    worst = max((states[k] for k in keys), key=_severity)
    name = standing.name
    facts: dict[str, Any] = {
        "person_id": standing.person.id, "name": name, "programme_id": programme.id,
        "programme_name": programme.name, "rule_id": rule_id, "status": worst,
        "previous_status": max((previous.get(k, "on_track") for k in keys), key=_severity),
        "crossed": keys, "requirements": [_result_json(r) for r in results],
        "overall": standing.result.overall.to_dict(), "persistence": standing.result.persistence,
        "gaps": [r.reason for r in results if r.status is not CompletionStatus.ON_TRACK],
    }
    names = RECIPIENTS.get(rule_id, DEFAULT_RECIPIENTS)
    recipients = await resolve_recipients(tx.conn, programme.org_id, names, session_id=None,
                                          person_id=standing.person.id)
    if rule_id == "AP-90":
        threshold = next((r.target for r in results), 90)
        weeks = weekly_percentages(standing.records, programme.tz, now)
        rolling = standing.result.overall.attendance_percent
        facts |= {"threshold": _num(threshold), "rolling_percent": _num(rolling),
                  "weeks": [{"week": w.isoformat(), "percent": _num(p)} for w, p in weeks],
                  "next_action": "Review the pupil's attendance with their school or local authority."}
        why = " ".join(r.reason for r in results)
        weekly = [k for k in keys if WEEK in k]
        if weekly and weeks:
            why += f" In the week of {weeks[-1][0]:%-d %B %Y} attendance was {_num(weeks[-1][1])}%."
        return await raise_alert(tx, ctx, org_id=programme.org_id, rule_id=rule_id, kind="attendance_below_90",
                                 severity=AlertSeverity.WARNING.value,
                                 title=f"Attendance below {_num(threshold)}%: {name}", why=why.strip(), facts=facts,
                                 recipients=recipients, now=now, person_id=standing.person.id)
    label = "cannot complete" if worst == CompletionStatus.CANNOT_COMPLETE.value else "at risk"
    facts["next_action"] = ("Agree a catch-up plan with the participant and record the next escalation stage."
                            if worst == CompletionStatus.AT_RISK.value else
                            "Discuss the participant's continuation on the programme and record the decision.")
    why = f"{name} is {label} on {programme.name} ({rule_id}). " + " ".join(facts["gaps"])
    return await raise_alert(tx, ctx, org_id=programme.org_id, rule_id=rule_id, kind=f"completion_{worst}",
                             severity=AlertSeverity.WARNING.value, title=f"{name} {label}: {programme.name}",
                             why=why.strip(), facts=facts, recipients=recipients, now=now,
                             person_id=standing.person.id)


def _result_json(r: RequirementResult) -> dict[str, Any]:
    data = r.to_dict()
    data.pop("requirement", None)
    return data


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


__all__ = ["OVERALL", "ProgrammeInfo", "Standing", "escalation_states", "load_programme", "load_standings",
           "reevaluate_people", "reevaluate_person", "save_states", "state_key", "stored_states", "week_key"]
