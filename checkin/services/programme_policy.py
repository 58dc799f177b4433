"""A programme's policy, requirements and code set, settled from what a manager sent and a preset.

The policy JSON also holds `grace_minutes` and `events_call_pattern_only`, which the programme
row repeats as `grace_minutes` and `follow_up_style`; a value sent for the column wins and is
written into the policy, so the two never disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from checkin.domain.codes import CODE_SETS
from checkin.domain.completion_requirements import requirements_from_json, requirements_to_json
from checkin.domain.errors import Invalid
from checkin.domain.rules.policy import Policy, PolicyError
from checkin.services.programme_presets import PROGRAMME_PRESETS, find_preset

PATTERN_ONLY = "pattern_only"
EVERY_ABSENCE = "every_absence"
FOLLOW_UP_STYLES = (EVERY_ABSENCE, PATTERN_ONLY)
DEFAULT_REASONS = (
    {"reason": "Illness", "accepted": True},
    {"reason": "Medical appointment", "accepted": True},
    {"reason": "Family emergency", "accepted": True},
    {"reason": "Usual school duties", "accepted": False},  # AMB: not an accepted reason
)


def settle(given: Mapping[str, Any], base: Mapping[str, Any] | None) -> dict[str, Any]:
    """The preset, code_set, policy, requirements, grace_minutes and follow_up_style to store.

    `given` holds only what the manager sent; `base` is the stored programme (None on create).
    Choosing a (different) preset fills whatever of policy, requirements and code set was not
    sent from that preset; otherwise unsent values stay as stored.
    """
    sent = given.get("preset")
    if sent is not None:
        preset_id, chosen = sent, (find_preset(sent) if sent else None)
    else:
        preset_id = (base or {}).get("preset", "")
        chosen = PROGRAMME_PRESETS.get(preset_id)
    fresh = chosen is not None and sent is not None and (base is None or sent != base.get("preset"))

    def pick(name: str, from_preset: Any, empty: Any) -> Any:
        if given.get(name) is not None:
            return given[name]
        if fresh:
            return from_preset()
        return base[name] if base is not None else empty

    raw_policy = pick("policy", lambda: chosen.policy_dict() if chosen else {}, {})
    if given.get("policy") is None and not raw_policy and base is not None and chosen is not None:
        raw_policy = chosen.policy_dict()  # an empty stored policy means the preset's, as the register reads it
    policy = parse_policy(raw_policy)
    requirements = pick("requirements", lambda: chosen.requirements_list() if chosen else [], [])
    code_set = pick("code_set", lambda: chosen.code_set if chosen else "plain", "plain")
    if given.get("grace_minutes") is not None:
        policy = dataclasses.replace(policy, grace_minutes=given["grace_minutes"])
    if given.get("follow_up_style") is not None:
        policy = dataclasses.replace(policy, events_call_pattern_only=given["follow_up_style"] == PATTERN_ONLY)
    check_code_set(code_set, policy)
    return {
        "preset": preset_id or "",
        "code_set": code_set,
        "policy": policy.to_dict(),
        "requirements": requirements_to_json(requirements_from_json(requirements)),
        "grace_minutes": policy.grace_minutes,
        "follow_up_style": PATTERN_ONLY if policy.events_call_pattern_only else EVERY_ABSENCE,
    }


def parse_policy(raw: Any) -> Policy:
    """The policy a manager sent, or 422 with the policy's own code and the setting at fault."""
    try:
        return Policy.from_dict(raw) if raw else Policy()
    except PolicyError as exc:
        field = f"policy.{exc.field}" if exc.field else "policy"
        raise Invalid(exc.code, exc.message, field) from None
    except TypeError as exc:  # a setting the constructor could not take at all
        raise Invalid("invalid_type", str(exc), "policy") from None


def check_code_set(name: str, policy: Policy) -> None:
    """The code set exists, and every code the policy's rules write is in it."""
    found = CODE_SETS.get(name)
    if found is None:
        raise Invalid("unknown_code_set", f"There is no code set called {name!r}.", "code_set",
                      known=sorted(CODE_SETS))
    for i, rule in enumerate(policy.rules):
        if "code" in rule.spec.params and rule.enabled and rule.str_param("code") not in found:
            raise Invalid("code_not_in_code_set", f"{rule.id} marks with {rule.str_param('code')!r}, which the "
                          f"{found.title} set does not have.", f"policy.rules[{i}].params.code")


def check_reasons(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for i, item in enumerate(reasons):
        key = item["reason"].casefold()
        if key in seen:
            raise Invalid("duplicate_reason", f"The reason {item['reason']!r} appears twice.", f"reasons[{i}]")
        seen.add(key)
    return [{"reason": r["reason"], "accepted": r["accepted"]} for r in reasons]
