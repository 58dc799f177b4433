"""Completion requirements as policy data: what a programme asks of each participant."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias

from checkin.domain.errors import Invalid


class InvalidRequirement(Invalid):
    """A requirement's data is malformed or out of range."""


def _invalid(message: str, **details: object) -> InvalidRequirement:
    error = InvalidRequirement("invalid_requirement", message, "requirements")
    error.details = details
    return error


def _check_percent(name: str, value: float, *, allow_zero: bool = False) -> None:
    if not (0 <= value <= 100) or (value == 0 and not allow_zero):
        raise _invalid(f"{name} must be a percentage between 0 and 100, not {value}")


class _Requirement:
    """Serialisation shared by every requirement; `kind` names the type in JSON."""

    __slots__ = ()
    kind: ClassVar[str]
    rule: str

    @property
    def scope(self) -> str | None:
        """The element this requirement is about, or None for the whole programme / all other elements."""
        return getattr(self, "element", None)

    @property
    def key(self) -> str:
        """Unique within a programme's requirements: the rule, plus the element when it names one."""
        return f"{self.rule}:{self.scope}" if self.scope else self.rule

    def to_dict(self) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return {"type": self.kind, **fields}


@dataclass(frozen=True, slots=True)
class MinCount(_Requirement):
    """At least `min_sessions` sessions of one element (PSW: coaching 3, modules 4, peer 2)."""

    kind: ClassVar[str] = "min_count"
    element: str
    min_sessions: int
    catch_up_counts: bool = False
    rule: str = "PSW-MIN"

    def __post_init__(self) -> None:
        if not self.element:
            raise _invalid("a minimum count needs an element")
        if self.min_sessions < 0:
            raise _invalid(f"min_sessions must not be negative, not {self.min_sessions}")


@dataclass(frozen=True, slots=True)
class MinPercent(_Requirement):
    """At least `percent` of one element, or (element None) of every element no other requirement names."""

    kind: ClassVar[str] = "min_percent"
    element: str | None
    percent: float
    catch_up_counts: bool = True
    rule: str = "MIN-PERCENT"

    def __post_init__(self) -> None:
        _check_percent("percent", self.percent)


@dataclass(frozen=True, slots=True)
class LiveShare(_Requirement):
    """`total_percent` of all content: at least `min_live_percent` live, at most `max_catch_up_percent` caught up."""

    kind: ClassVar[str] = "live_share"
    total_percent: float = 100
    min_live_percent: float = 80
    max_catch_up_percent: float = 20
    rule: str = "LIVE-80"

    def __post_init__(self) -> None:
        _check_percent("total_percent", self.total_percent)
        _check_percent("min_live_percent", self.min_live_percent, allow_zero=True)
        _check_percent("max_catch_up_percent", self.max_catch_up_percent, allow_zero=True)
        if self.min_live_percent > self.total_percent:
            raise _invalid("min_live_percent cannot exceed total_percent")


@dataclass(frozen=True, slots=True)
class MaxMissed(_Requirement):
    """No more than `n` sessions missed live, each (when required) made good by a catch-up."""

    kind: ClassVar[str] = "max_missed"
    n: int = 2
    require_catch_up: bool = True
    rule: str = "MAX-MISSED"

    def __post_init__(self) -> None:
        if self.n < 0:
            raise _invalid(f"n must not be negative, not {self.n}")


@dataclass(frozen=True, slots=True)
class AllMandatory(_Requirement):
    """Every mandatory session; optional sessions never count against.

    Whether a catch-up makes good a missed mandatory event is the programme's call: AMB
    Headship accepts the same event with the next cohort, so by default it counts.
    """

    kind: ClassVar[str] = "all_mandatory"
    catch_up_counts: bool = True
    rule: str = "ALL-MANDATORY"


@dataclass(frozen=True, slots=True)
class AttendanceThreshold(_Requirement):
    """Register attendance at or above `percent`; below it the participant is escalated (AP-90)."""

    kind: ClassVar[str] = "attendance_threshold"
    percent: float = 90
    rule: str = "AP-90"

    def __post_init__(self) -> None:
        _check_percent("percent", self.percent)


Requirement: TypeAlias = MinCount | MinPercent | LiveShare | MaxMissed | AllMandatory | AttendanceThreshold

KINDS: Mapping[str, type[Requirement]] = MappingProxyType({
    c.kind: c for c in (MinCount, MinPercent, LiveShare, MaxMissed, AllMandatory, AttendanceThreshold)
})

_TYPES: Mapping[str, tuple[type, ...]] = {
    "str": (str,), "str | None": (str, type(None)), "int": (int,), "float": (int, float), "bool": (bool,),
}


def requirement_from_dict(data: object) -> Requirement:
    """A requirement from its `to_dict()` form; InvalidRequirement (422) on anything else."""
    if not isinstance(data, Mapping):
        raise _invalid("a requirement must be an object")
    kind = data.get("type")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise _invalid(f"unknown requirement type {kind!r}", known=sorted(KINDS))
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - fields.keys() - {"type"})
    if unknown:
        raise _invalid(f"unknown fields {unknown} for {kind}")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING:
                raise _invalid(f"{kind} needs {name}")
            continue
        value = data[name]
        allowed = _TYPES[str(f.type)]
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise _invalid(f"{kind}.{name} has the wrong type ({type(value).__name__})")
        values[name] = value
    return cls(**values)


def requirements_from_json(data: object) -> tuple[Requirement, ...]:
    """A programme's requirements from its stored JSON list; keys must be unique."""
    if not isinstance(data, list):
        raise _invalid("requirements must be a list")
    found = tuple(requirement_from_dict(item) for item in data)
    check_unique(found)
    return found


def stored_requirements(data: object) -> tuple[Requirement, ...]:
    """A programme's stored requirements as the product reads them: none when unreadable.

    Programmes refuse bad requirements when they are set, so only a hand-edited row gets here;
    reports and re-evaluations must not break on it.
    """
    try:
        return requirements_from_json(data or [])
    except Invalid:
        return ()


def requirements_to_json(requirements: Iterable[Requirement]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in requirements]


def check_unique(requirements: Iterable[Requirement]) -> None:
    """Refuse two requirements with the same key: each keeps its own completion state."""
    seen: set[str] = set()
    for r in requirements:
        if r.key in seen:
            raise _invalid(f"two requirements share the key {r.key!r}", key=r.key)
        seen.add(r.key)


REQUIREMENT_PRESETS: Mapping[str, tuple[Requirement, ...]] = MappingProxyType({
    # PSW 1.1.4-1.1.5; PSW 2.3.1 makes catch-up count for every element except coaching.
    "psw": (
        MinCount("coaching", 3, catch_up_counts=False),
        MinCount("modules", 4, catch_up_counts=True),
        MinCount("peer", 2, catch_up_counts=True),
        MinPercent(None, 80, catch_up_counts=True, rule="PSW-MIN"),
    ),
    "npq_reformed": (MinPercent(None, 90, catch_up_counts=True, rule="NPQ-90"),),
    "amb_executive_leaders": (LiveShare(),),
    "amb_expert_middle_leaders": (LiveShare(),),
    "amb_npq_alliance": (MaxMissed(2, require_catch_up=True),),
    "amb_future_leaders": (AllMandatory(),),
    "amb_headship": (AllMandatory(),),
    "ap": (AttendanceThreshold(90),),
})
