"""Judging one requirement against one participant's tally: a status, a projection, a reason."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from checkin.domain.completion_requirements import (
    AllMandatory,
    AttendanceThreshold,
    LiveShare,
    MaxMissed,
    MinCount,
    MinPercent,
    Requirement,
)
from checkin.domain.completion_tally import (
    CompletionStatus,
    Outcome,
    SessionRecord,
    Tally,
    percent,
    persistence_flag,
)

ON_TRACK, AT_RISK, CANNOT = CompletionStatus.ON_TRACK, CompletionStatus.AT_RISK, CompletionStatus.CANNOT_COMPLETE
Unit = Literal["sessions", "percent", "missed"]


@dataclass(frozen=True, slots=True)
class RequirementResult:
    """`current` so far, `target`, and `best` still reachable by attending all that is left
    (and catching up where the requirement lets catch-up count), all in `unit`."""

    code: str
    key: str
    element: str | None
    status: CompletionStatus
    reason: str
    current: float | None
    target: float
    best: float | None
    unit: Unit
    requirement: Requirement

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "key": self.key, "element": self.element, "status": self.status.value,
                "reason": self.reason, "current": self.current, "target": self.target, "best": self.best,
                "unit": self.unit, "requirement": self.requirement.to_dict()}


def judge(requirement: Requirement, classified: Iterable[tuple[SessionRecord, Outcome]],
          claimed: frozenset[str]) -> RequirementResult:
    """Judge `requirement` over the sessions in its scope; `claimed` are elements named by others."""
    scoped = [(r, o) for r, o in classified if _in_scope(requirement, r, claimed)]
    t = Tally.of(scoped)
    label = _label(requirement, claimed)
    if isinstance(requirement, MinCount):
        status, reason = _credit(t, requirement.min_sessions, requirement.catch_up_counts, label, None)
        credited, best = _credit_range(t, requirement.catch_up_counts)
        return _result(requirement, status, reason, credited, requirement.min_sessions, best, "sessions")
    if isinstance(requirement, MinPercent | AllMandatory):
        target = requirement.percent if isinstance(requirement, MinPercent) else 100
        required = _at_least(target, t.counted)
        status, reason = _credit(t, required, requirement.catch_up_counts, label, target)
        credited, best = _credit_range(t, requirement.catch_up_counts)
        return _result(requirement, status, reason, percent(credited, t.decided), target,
                       percent(best, t.counted), "percent")
    if isinstance(requirement, LiveShare):
        return _live_share(requirement, t)
    if isinstance(requirement, MaxMissed):
        return _max_missed(requirement, t)
    return _threshold(requirement, t)


def _in_scope(requirement: Requirement, record: SessionRecord, claimed: frozenset[str]) -> bool:
    if isinstance(requirement, MinCount):
        return record.element == requirement.element
    if isinstance(requirement, MinPercent):
        return record.element == requirement.element if requirement.element else record.element not in claimed
    if isinstance(requirement, AllMandatory):
        return record.mandatory
    return True


def _label(requirement: Requirement, claimed: frozenset[str]) -> str:
    if isinstance(requirement, MinCount | MinPercent) and requirement.element:
        return requirement.element.replace("_", " ").capitalize()
    if isinstance(requirement, MinPercent) and claimed:
        return "Other elements"
    if isinstance(requirement, AllMandatory):
        return "Mandatory sessions"
    return "Programme"


def _result(requirement: Requirement, status: CompletionStatus, reason: str, current: float | None,
            target: float, best: float | None, unit: Unit) -> RequirementResult:
    return RequirementResult(requirement.rule, requirement.key, requirement.scope, status, reason,
                             current, target, best, unit, requirement)


def _at_least(target_percent: float, whole: int) -> int:
    """Sessions needed for `target_percent` of `whole`, exactly (80% of 7 is 6, never 5.6 rounded down)."""
    return math.ceil(Fraction(str(target_percent)) * whole / 100)


def _at_most(limit_percent: float, whole: int) -> int:
    return math.floor(Fraction(str(limit_percent)) * whole / 100)


def _credit_range(t: Tally, catch_up_counts: bool) -> tuple[int, int]:
    """Sessions credited now, and at best (all pending attended, all missed caught up if that counts)."""
    credited = t.attended + (t.caught_up if catch_up_counts else 0)
    return credited, credited + t.pending + (t.missed if catch_up_counts else 0)


def _credit(t: Tally, required: int, catch_up_counts: bool, label: str,
            target_percent: float | None) -> tuple[CompletionStatus, str]:
    """Status of "at least `required` credited sessions".

    At risk means reachable only by catching up missed sessions, or, once something has been
    lost, only by attending (or catching up) every pending session. A percentage is also at
    risk while below its target so far: a participant heading below must catch up (PSW 2.3.1)
    before the slack runs out. Someone who has lost nothing is on track even under a 100% rule.
    """
    credited, best = _credit_range(t, catch_up_counts)
    best_live = credited + t.pending
    lost = t.decided - credited
    need = f"{required}" if target_percent is None else f"{required} of {t.counted} ({_pct(target_percent)})"
    done = f"{label}: {_n(credited, 'session')} done, {need} needed"
    if credited >= required:
        return ON_TRACK, f"{done} — met."
    if t.counted == 0:
        return CANNOT, f"{label}: no sessions are scheduled, {need} needed."
    if best < required:
        why = "" if catch_up_counts else " (catch-up does not count here)"
        return CANNOT, f"{done}; at most {best} can still be reached{why}."
    if best_live < required:
        return AT_RISK, (f"{done}; catch up at least {_n(required - best_live, 'missed session')}"
                         f"{_and_attend_all(t)}.")
    if best_live == required and lost:
        either = " or caught up" if catch_up_counts else ""
        return AT_RISK, f"{done}; every one of the {_remaining(t)} must be attended{either}."
    so_far = percent(credited, t.decided)
    if target_percent is not None and so_far is not None and so_far < target_percent:
        return AT_RISK, f"{done}; {_pct(so_far)} so far is below {_pct(target_percent)} — catch up missed sessions."
    return ON_TRACK, f"{done}; {_remaining(t)}, of which up to {best_live - required} may be missed."


def _live_share(req: LiveShare, t: Tally) -> RequirementResult:
    """Live and catch-up shares; catch-up beyond its cap is not an offence, it just earns nothing."""
    n = t.counted
    need_live, need_total = _at_least(req.min_live_percent, n), _at_least(req.total_percent, n)
    cap = _at_most(req.max_catch_up_percent, n)

    def meets(live: int, caught: int) -> bool:
        return live >= need_live and live + min(caught, cap) >= need_total

    live_max = t.attended + t.pending
    caught_now, caught_best = min(t.caught_up, cap), min(t.caught_up + t.missed, cap)
    head = (f"Programme: {t.attended} live and {t.caught_up} caught up of {n}; "
            f"{need_total} needed, at least {need_live} live and at most {cap} by catch-up")
    live_so_far, total_so_far = percent(t.attended, t.decided), percent(t.attended + caught_now, t.decided)
    if meets(t.attended, t.caught_up):
        status, why = ON_TRACK, " — met."
    elif live_max < need_live:
        status, why = CANNOT, f"; at most {live_max} can still be live."
    elif not meets(live_max, t.caught_up + t.missed):
        status, why = CANNOT, f"; at most {live_max + caught_best} can still be completed."
    elif not meets(live_max, t.caught_up):
        short = need_total - live_max - caught_now
        status, why = AT_RISK, f"; catch up at least {_n(short, 'missed session')}{_and_attend_all(t)}."
    elif t.pending and t.decided > t.attended and not meets(live_max - 1, t.caught_up + t.missed + 1):
        status, why = AT_RISK, f"; every one of the {_remaining(t)} must be attended live."
    elif live_so_far is not None and total_so_far is not None and (
            live_so_far < req.min_live_percent or total_so_far < req.total_percent):
        status, why = AT_RISK, f"; so far {_pct(live_so_far)} live, {_pct(total_so_far)} complete."
    else:
        status, why = ON_TRACK, f"; {_remaining(t)}."
    return _result(req, status, head + why, total_so_far, req.total_percent,
                   percent(live_max + caught_best, n), "percent")


def _max_missed(req: MaxMissed, t: Tally) -> RequirementResult:
    """At most `n` missed live; a spent session cannot be caught up, so it fails a catch-up rule."""
    missed = t.caught_up + t.missed + t.spent
    head = f"Programme: {_n(missed, 'session')} missed, no more than {req.n} allowed"
    if missed > req.n:
        status, why = CANNOT, "."
    elif req.require_catch_up and t.spent:
        status, why = CANNOT, f"; {_n(t.spent, 'spent session')} cannot be caught up."
    elif req.require_catch_up and t.missed:
        status, why = AT_RISK, f"; {_n(t.missed, 'missed session')} still without a catch-up."
    elif missed and missed == req.n and t.pending:
        status, why = AT_RISK, f"; none of the {_remaining(t)} may be missed."
    else:
        status, why = ON_TRACK, " — every one caught up." if missed and req.require_catch_up else "."
    return _result(req, status, head + why, missed, req.n, missed, "missed")


def _threshold(req: AttendanceThreshold, t: Tally) -> RequirementResult:
    """Register attendance against a rolling threshold.

    It is an escalation line, not a completion rule, so it is never "cannot complete": a pupil
    below it is at risk, and `best` says how far attending everything scheduled would lift them.
    """
    current = t.attendance_percent
    best = percent(t.present + t.pending, t.decided + t.pending)
    if current is None:
        return _result(req, ON_TRACK, "Attendance: no sessions marked yet.", None, req.percent, best, "percent")
    head = f"Attendance: {_pct(current)} over {_n(t.decided, 'session')}"
    if current >= req.percent:
        return _result(req, ON_TRACK, f"{head}, at or above {_pct(req.percent)}.", current, req.percent,
                       best, "percent")
    flag = persistence_flag(current)
    kind = f" ({flag} absence)" if flag != "none" else ""
    return _result(req, AT_RISK, f"{head} is below {_pct(req.percent)}{kind}.", current, req.percent,
                   best, "percent")


def _pct(value: float) -> str:
    return f"{round(value, 1):g}%"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _remaining(t: Tally) -> str:
    if t.unmarked:
        return f"{t.pending} remaining ({t.unmarked} awaiting a mark)"
    return f"{t.pending} remaining"


def _and_attend_all(t: Tally) -> str:
    return f" and attend all {_remaining(t)}" if t.pending else ""
