"""Completion and thresholds as pure functions over one participant's session records.

The pieces live in completion_tally (records, outcomes, counts), completion_requirements
(policy data), completion_rules (judging one requirement) and completion_times (late and
early-departure arithmetic); this module evaluates a whole programme and re-exports them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from checkin.domain.completion_requirements import (
    REQUIREMENT_PRESETS,
    AllMandatory,
    AttendanceThreshold,
    InvalidRequirement,
    LiveShare,
    MaxMissed,
    MinCount,
    MinPercent,
    Requirement,
    check_unique,
    requirement_from_dict,
    requirements_from_json,
    requirements_to_json,
    stored_requirements,
)
from checkin.domain.completion_rules import RequirementResult, judge
from checkin.domain.completion_tally import (
    DECIDED,
    SEVERITY,
    CompletionStatus,
    Outcome,
    Persistence,
    SessionRecord,
    Tally,
    classify,
    persistence_flag,
)
from checkin.domain.completion_times import (
    DEFAULT_CATCH_UP_THRESHOLD,
    catch_up_required,
    minutes_late,
    share_missed,
)

__all__ = [
    "DEFAULT_CATCH_UP_THRESHOLD", "REQUIREMENT_PRESETS", "AllMandatory", "AttendanceThreshold",
    "CompletionResult", "CompletionStatus", "InvalidRequirement", "LiveShare", "MaxMissed", "MinCount",
    "MinPercent", "Outcome", "Persistence", "Requirement", "RequirementResult", "SessionRecord", "Tally",
    "catch_up_required", "classify", "crossed", "evaluate", "minutes_late", "persistence_flag",
    "requirement_from_dict", "requirements_from_json", "requirements_to_json", "share_missed",
    "stored_requirements", "weekly_percentages", "worst",
]


@dataclass(frozen=True, slots=True)
class CompletionResult:
    """Counts per element and overall, each requirement's verdict, and the overall status."""

    overall: Tally
    elements: dict[str, Tally]
    requirements: tuple[RequirementResult, ...]
    status: CompletionStatus
    persistence: Persistence

    @property
    def percent(self) -> float | None:
        return self.overall.percent

    @property
    def best_percent(self) -> float | None:
        return self.overall.best_percent

    def result(self, key: str) -> RequirementResult:
        """The verdict for the requirement with this key (see Requirement.key)."""
        for r in self.requirements:
            if r.key == key:
                return r
        raise KeyError(key)

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status.value, "persistence": self.persistence, "overall": self.overall.to_dict(),
            "elements": {name: t.to_dict() for name, t in self.elements.items()},
            "requirements": [r.to_dict() for r in self.requirements],
        }


def evaluate(records: Iterable[SessionRecord], requirements: Sequence[Requirement], now: datetime, *,
             left_early_threshold: float = DEFAULT_CATCH_UP_THRESHOLD) -> CompletionResult:
    """Where one participant stands against every requirement at `now`.

    A requirement with an element covers that element's sessions; MinPercent without one
    covers every element no other requirement names ("80% elsewhere"). The overall status is
    the worst of the requirements' statuses.
    """
    check_unique(requirements)
    classified = [(r, classify(r, now, left_early_threshold)) for r in records]
    claimed = frozenset(r.element for r in requirements if isinstance(r, MinCount | MinPercent) and r.element)
    results = tuple(judge(req, classified, claimed) for req in requirements)
    by_element: dict[str, list[tuple[SessionRecord, Outcome]]] = defaultdict(list)
    for pair in classified:
        by_element[pair[0].element].append(pair)
    overall = Tally.of(classified)
    attendance = overall.attendance_percent
    return CompletionResult(
        overall=overall,
        elements={name: Tally.of(pairs) for name, pairs in sorted(by_element.items())},
        requirements=results,
        status=worst(r.status for r in results),
        persistence=persistence_flag(attendance) if attendance is not None else "none",
    )


def worst(statuses: Iterable[CompletionStatus]) -> CompletionStatus:
    return max(statuses, key=SEVERITY.__getitem__, default=CompletionStatus.ON_TRACK)


def crossed(previous_status: CompletionStatus | str | None, new_status: CompletionStatus | str) -> bool:
    """Whether going from `previous_status` to `new_status` is a fresh step down worth escalating.

    Only a worsening crosses: staying put or recovering does not, so an escalation is raised
    once per crossing rather than on every mark. No previous status counts as on track.
    """
    before = SEVERITY[CompletionStatus(previous_status or CompletionStatus.ON_TRACK)]
    return SEVERITY[CompletionStatus(new_status)] > before


def weekly_percentages(records: Iterable[SessionRecord], tz: tzinfo, now: datetime) -> list[tuple[date, float]]:
    """Register attendance per ISO week (Monday in `tz`), oldest first; weeks with nothing decided are left out."""
    present: dict[date, int] = defaultdict(int)
    decided: dict[date, int] = defaultdict(int)
    for record in records:
        if record.starts_at.tzinfo is None:
            raise ValueError(f"session {record.session_id} has a naive start time")
        if record.starts_at > now or classify(record, now) not in DECIDED:
            continue
        day = record.starts_at.astimezone(tz).date()
        monday = day - timedelta(days=day.weekday())
        decided[monday] += 1
        present[monday] += record.register_present
    return [(week, 100 * present[week] / count) for week, count in sorted(decided.items())]
