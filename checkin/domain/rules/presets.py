"""Starting policies with the RULES.md defaults, one per kind of programme.

Each preset lists every live rule, switched on or off, so an admin screen shows the whole
table and a manager turns rules on rather than having to know their ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from checkin.domain.model import SessionKind
from checkin.domain.rules.catalogue import RULE_IDS
from checkin.domain.rules.policy import Policy, PolicyError, RuleConfig


def _table(on: Mapping[str, Mapping[str, Any]]) -> tuple[RuleConfig, ...]:
    """Every rule: those in `on` enabled with their changes, the rest disabled at their defaults."""
    return tuple(RuleConfig.default(rule_id, enabled=rule_id in on, **on.get(rule_id, {})) for rule_id in RULE_IDS)


def ap_tuition() -> Policy:
    """AP: report at +15, no-show at +15, DSL at +60, DSL acknowledgement within 15 minutes."""
    ap = {"applies_to_kinds": (SessionKind.AP_TUITION,)}
    return Policy(_table({"AP-REPORT": ap, "AP-NOSHOW": ap, "AP-DSL": ap, "DSL-ACK": {}}), ack_minutes=15)


def apprenticeship_f2f() -> Policy:
    """STS: register in 30 minutes, tutor 10 minutes early, employers told on the day, 1-2-1s rebooked in 5 days."""
    return Policy(_table({"F2F-REGISTER": {}, "TUTOR-EARLY": {}, "EMPLOYER-SAME-DAY": {}, "EMPLOYER-REMOTE": {},
                          "REBOOK-121": {"applies_to_kinds": (SessionKind.ONE_TO_ONE,)}}),
                  register_window_minutes=30)


def residential_events() -> Policy:
    """AMB: the events team calls no-shows without notice at +30; every absence is chased."""
    return Policy(_table({"EVENTS-CALL": {}}), events_call_pattern_only=False, event_min_expected=3)


def coaching() -> Policy:
    """PSW coaching: no live window; a participant's cancellation under 24 h before is a spent session."""
    return Policy(_table({}), late_cancel_hours=24)


PRESETS: Mapping[str, Callable[[], Policy]] = MappingProxyType({
    "ap_tuition": ap_tuition, "apprenticeship_f2f": apprenticeship_f2f,
    "residential_events": residential_events, "coaching": coaching,
})


def preset(name: str) -> Policy:
    if name not in PRESETS:
        raise PolicyError("unknown_preset", "preset", f"there is no preset {name!r}")
    return PRESETS[name]()
