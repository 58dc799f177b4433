"""A programme's attendance policy as data: settings plus one RuleConfig per live rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from checkin.domain.errors import Invalid
from checkin.domain.model import SessionInfo, SessionKind, SessionMode
from checkin.domain.rules.catalogue import RULE_SPECS, RuleSpec

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_POLICY_INTS = ("grace_minutes", "late_cancel_hours", "ack_minutes", "register_window_minutes",
                "event_min_expected", "left_early_threshold_percent")


class PolicyError(Invalid, ValueError):
    """A policy that cannot be used; `code` is stable, `field` names the offending setting."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(code, message, field)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field or "", "message": self.message}


@dataclass(frozen=True)
class RuleConfig:
    """One live rule as a programme runs it; empty kinds/modes mean every kind/mode."""

    id: str
    enabled: bool = True
    offset_minutes: int = 0
    applies_to_kinds: tuple[SessionKind, ...] = ()
    applies_to_modes: tuple[SessionMode, ...] = ()
    recipients: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validate_rule(self)
        object.__setattr__(self, "params", dict(self.params))  # a copy, so the caller's dict cannot change it

    @classmethod
    def default(cls, rule_id: str, **changes: Any) -> RuleConfig:
        """The rule with the catalogue's offset and recipients, then `changes` applied."""
        if rule_id not in RULE_SPECS:
            raise PolicyError("unknown_rule", "id", f"there is no rule {rule_id!r}")
        spec = RULE_SPECS[rule_id]
        values: dict[str, Any] = {"offset_minutes": spec.default_offset, "recipients": spec.default_recipients}
        values.update(changes)
        return cls(rule_id, **values)

    @property
    def spec(self) -> RuleSpec:
        return RULE_SPECS[self.id]

    @property
    def addressees(self) -> tuple[str, ...]:
        return self.recipients or self.spec.default_recipients

    def int_param(self, name: str) -> int:
        value = self.params.get(name, self.spec.params[name])
        assert isinstance(value, int)
        return value

    def str_param(self, name: str) -> str:
        value = self.params.get(name, self.spec.params[name])
        assert isinstance(value, str)
        return value

    def applies_to(self, session: SessionInfo) -> bool:
        """True when the rule is on and this session's kind and mode are in its scope."""
        modes = self.applies_to_modes or tuple(SessionMode)
        intrinsic = self.spec.modes or tuple(SessionMode)
        return (self.enabled and (not self.applies_to_kinds or session.kind in self.applies_to_kinds)
                and session.mode in modes and session.mode in intrinsic)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "enabled": self.enabled, "offset_minutes": self.offset_minutes,
                "applies_to_kinds": [k.value for k in self.applies_to_kinds],
                "applies_to_modes": [m.value for m in self.applies_to_modes],
                "recipients": list(self.recipients), "params": dict(self.params)}


@dataclass(frozen=True)
class Policy:
    """A programme's settings and rule table; validated on construction."""

    rules: tuple[RuleConfig, ...] = ()
    grace_minutes: int = 0
    late_cancel_hours: int = 24
    events_call_pattern_only: bool = False
    ack_minutes: int = 15
    register_window_minutes: int = 30
    event_min_expected: int = 3
    left_early_threshold_percent: int = 25

    def __post_init__(self) -> None:
        if isinstance(self.rules, list):
            object.__setattr__(self, "rules", tuple(self.rules))
        for name in _POLICY_INTS:
            _non_negative_int(getattr(self, name), name)
        if self.ack_minutes < 1:
            raise PolicyError("negative_window", "ack_minutes", "ack_minutes must be at least 1")
        _bool(self.events_call_pattern_only, "events_call_pattern_only")
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            if not isinstance(rule, RuleConfig):
                raise PolicyError("invalid_type", f"rules[{i}]", "each rule must be a RuleConfig")
            if rule.id in seen:
                raise PolicyError("duplicate_rule", f"rules[{i}].id", f"rule {rule.id!r} appears twice")
            seen.add(rule.id)

    def rule(self, rule_id: str) -> RuleConfig | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def enabled_rules(self) -> tuple[RuleConfig, ...]:
        return tuple(r for r in self.rules if r.enabled)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in _POLICY_INTS}
        data["events_call_pattern_only"] = self.events_call_pattern_only
        data["rules"] = [r.to_dict() for r in self.rules]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Parse what `to_dict` wrote (or an admin sent); any fault raises PolicyError."""
        if not isinstance(data, Mapping):
            raise PolicyError("invalid_type", "", "a policy must be an object")
        unknown = sorted(set(data) - {*_POLICY_INTS, "events_call_pattern_only", "rules"})
        if unknown:
            raise PolicyError("unknown_field", unknown[0], f"unknown policy setting {unknown[0]!r}")
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            raise PolicyError("invalid_type", "rules", "rules must be a list")
        rules = tuple(_rule_from_dict(raw, f"rules[{i}]") for i, raw in enumerate(raw_rules))
        settings = {k: v for k, v in data.items() if k != "rules"}
        return cls(rules=rules, **settings)


_RULE_KEYS = {"id", "enabled", "offset_minutes", "applies_to_kinds", "applies_to_modes", "recipients", "params"}


def _rule_from_dict(raw: Any, where: str) -> RuleConfig:
    if not isinstance(raw, Mapping):
        raise PolicyError("invalid_type", where, "a rule must be an object")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise PolicyError("unknown_field", f"{where}.{unknown[0]}", f"unknown rule setting {unknown[0]!r}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or rule_id not in RULE_SPECS:
        raise PolicyError("unknown_rule", f"{where}.id", f"there is no rule {rule_id!r}")
    try:
        return RuleConfig.default(
            rule_id, enabled=raw.get("enabled", True),
            offset_minutes=raw.get("offset_minutes", RULE_SPECS[rule_id].default_offset),
            applies_to_kinds=_enums(raw.get("applies_to_kinds", []), SessionKind, "applies_to_kinds", "kind"),
            applies_to_modes=_enums(raw.get("applies_to_modes", []), SessionMode, "applies_to_modes", "mode"),
            recipients=_strings(raw.get("recipients", list(RULE_SPECS[rule_id].default_recipients))),
            params=raw.get("params", {}))
    except PolicyError as exc:
        raise PolicyError(exc.code, f"{where}.{exc.field}", exc.message) from None


def _enums(values: Any, enum_type: type[SessionKind] | type[SessionMode], name: str,
           noun: str) -> tuple[Any, ...]:
    if not isinstance(values, list):
        raise PolicyError("invalid_type", name, f"{name} must be a list")
    try:
        return tuple(enum_type(v) for v in values)
    except ValueError:
        raise PolicyError(f"unknown_{noun}", name, f"{name} holds an unknown {noun} among {values!r}") from None


def _strings(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise PolicyError("invalid_type", "recipients", "recipients must be a list of non-empty names")
    return tuple(values)


def _non_negative_int(value: Any, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise PolicyError("invalid_type", name, f"{name} must be a whole number")
    if value < 0:
        raise PolicyError("negative_window", name, f"{name} must not be negative")


def _bool(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise PolicyError("invalid_type", name, f"{name} must be true or false")


def _validate_rule(rule: RuleConfig) -> None:
    if rule.id not in RULE_SPECS:
        raise PolicyError("unknown_rule", "id", f"there is no rule {rule.id!r}")
    spec = RULE_SPECS[rule.id]
    _bool(rule.enabled, "enabled")
    offset = rule.offset_minutes
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise PolicyError("invalid_type", "offset_minutes", "offset_minutes must be a whole number")
    if (offset > 0) if spec.before_anchor else (offset < 0):
        side = "before" if spec.before_anchor else "after"
        raise PolicyError("negative_window", "offset_minutes",
                          f"{rule.id} fires {side} its anchor, so offset_minutes cannot be {offset}")
    if not all(isinstance(k, SessionKind) for k in rule.applies_to_kinds):
        raise PolicyError("unknown_kind", "applies_to_kinds", "applies_to_kinds holds an unknown kind")
    if not all(isinstance(m, SessionMode) for m in rule.applies_to_modes):
        raise PolicyError("unknown_mode", "applies_to_modes", "applies_to_modes holds an unknown mode")
    if not all(isinstance(r, str) and r for r in rule.recipients):
        raise PolicyError("invalid_type", "recipients", "recipients must be non-empty names")
    if not isinstance(rule.params, Mapping):
        raise PolicyError("invalid_type", "params", "params must be an object")
    for name, value in rule.params.items():
        _validate_param(spec, name, value)


def _validate_param(spec: RuleSpec, name: str, value: Any) -> None:
    where = f"params.{name}"
    if name not in spec.params:
        raise PolicyError("unknown_param", where, f"{spec.id} has no setting {name!r}")
    default = spec.params[name]
    if isinstance(default, int):
        _non_negative_int(value, where)
        if name == "pattern_threshold" and value < 1:
            raise PolicyError("invalid_field", where, "pattern_threshold must be at least 1")
    elif not isinstance(value, str) or not value:
        raise PolicyError("invalid_type", where, f"{name} must be text")
    elif name == "morning" and not _HHMM.match(value):
        raise PolicyError("invalid_field", where, "morning must be a time such as 09:00")
