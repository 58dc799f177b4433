"""Rules as data: a policy round-trips through JSON and refuses what it cannot run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from checkin.domain.model import SessionKind, SessionMode
from checkin.domain.rules import RULE_IDS, Policy, PolicyError, RuleConfig, preset
from checkin.domain.rules.presets import PRESETS

from .builders import rule_of, session


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_survives_a_json_round_trip(name: str) -> None:
    policy = preset(name)
    assert Policy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


def _with_rule(**rule: Any) -> dict[str, Any]:
    return {"rules": [{"id": "AP-REPORT", **rule}]}


@pytest.mark.parametrize(("data", "code", "field"), [
    ({"rules": [{"id": "AP-TELEPATHY"}]}, "unknown_rule", "rules[0].id"),
    ({"rules": [{"enabled": True}]}, "unknown_rule", "rules[0].id"),
    ({"register_window_minutes": -1}, "negative_window", "register_window_minutes"),
    ({"late_cancel_hours": -24}, "negative_window", "late_cancel_hours"),
    ({"grace_minutes": -5}, "negative_window", "grace_minutes"),
    ({"ack_minutes": 0}, "negative_window", "ack_minutes"),
    (_with_rule(offset_minutes=-15), "negative_window", "rules[0].offset_minutes"),
    ({"rules": [{"id": "TUTOR-EARLY", "offset_minutes": 10}]}, "negative_window", "rules[0].offset_minutes"),
    ({"rules": [{"id": "F2F-REGISTER", "params": {"escalate_after_minutes": -1}}]}, "negative_window",
     "rules[0].params.escalate_after_minutes"),
    ({"rules": [{"id": "EMPLOYER-REMOTE", "params": {"morning": "9am"}}]}, "invalid_field",
     "rules[0].params.morning"),
    ({"rules": [{"id": "EVENTS-CALL", "params": {"pattern_threshold": 0}}]}, "invalid_field",
     "rules[0].params.pattern_threshold"),
    (_with_rule(params={"colour": "red"}), "unknown_param", "rules[0].params.colour"),
    (_with_rule(applies_to_kinds=["picnic"]), "unknown_kind", "rules[0].applies_to_kinds"),
    (_with_rule(applies_to_modes=["telepathic"]), "unknown_mode", "rules[0].applies_to_modes"),
    (_with_rule(offset_minutes="15"), "invalid_type", "rules[0].offset_minutes"),
    (_with_rule(offset_minutes=True), "invalid_type", "rules[0].offset_minutes"),
    (_with_rule(enabled="yes"), "invalid_type", "rules[0].enabled"),
    (_with_rule(recipients=[""]), "invalid_type", "rules[0].recipients"),
    (_with_rule(surprise=1), "unknown_field", "rules[0].surprise"),
    ({"rules": [{"id": "AP-REPORT"}, {"id": "AP-REPORT"}]}, "duplicate_rule", "rules[1].id"),
    ({"register_window": 30}, "unknown_field", "register_window"),
    ({"events_call_pattern_only": "sometimes"}, "invalid_type", "events_call_pattern_only"),
    ({"rules": {"id": "AP-REPORT"}}, "invalid_type", "rules"),
])
def test_a_policy_that_cannot_run_is_refused_with_a_code_and_field(data: dict[str, Any], code: str,
                                                                   field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(data)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_a_policy_error_is_a_value_error_with_a_json_shape() -> None:
    with pytest.raises(ValueError) as caught:
        Policy(ack_minutes=-1)
    assert isinstance(caught.value, PolicyError)
    assert caught.value.to_dict()["code"] == "negative_window"


def test_an_unknown_rule_id_is_refused_when_built_in_code_too() -> None:
    with pytest.raises(PolicyError) as caught:
        RuleConfig("AP-TELEPATHY")
    assert caught.value.code == "unknown_rule"


def test_a_rule_left_out_of_a_dict_takes_the_catalogue_defaults() -> None:
    policy = Policy.from_dict({"rules": [{"id": "AP-DSL"}]})
    rule = policy.rule("AP-DSL")
    assert rule is not None
    assert (rule.enabled, rule.offset_minutes, rule.recipients) == (True, 60, ("dsl_chain",))


def test_a_rule_copies_its_params_so_the_callers_dict_cannot_change_it() -> None:
    params = {"working_days": 5}
    rule = RuleConfig.default("REBOOK-121", params=params)
    params["working_days"] = 50
    assert rule.int_param("working_days") == 5


def test_a_rule_reads_an_unset_param_from_the_catalogue() -> None:
    assert RuleConfig.default("EMPLOYER-REMOTE").str_param("morning") == "09:00"


@pytest.mark.parametrize(("kinds", "modes", "kind", "mode", "applies"), [
    ((), (), SessionKind.WORKSHOP, SessionMode.REMOTE, True),
    ((SessionKind.AP_TUITION,), (), SessionKind.WORKSHOP, SessionMode.FACE_TO_FACE, False),
    ((SessionKind.AP_TUITION,), (), SessionKind.AP_TUITION, SessionMode.REMOTE, True),
    ((), (SessionMode.REMOTE,), SessionKind.WORKSHOP, SessionMode.FACE_TO_FACE, False),
])
def test_empty_scopes_mean_every_kind_and_mode(kinds: tuple[SessionKind, ...], modes: tuple[SessionMode, ...],
                                               kind: SessionKind, mode: SessionMode, applies: bool) -> None:
    rule = RuleConfig.default("AP-REPORT", applies_to_kinds=kinds, applies_to_modes=modes)
    assert rule.applies_to(session(kind=kind, mode=mode)) is applies


@pytest.mark.parametrize(("rule_id", "mode"), [
    ("F2F-REGISTER", SessionMode.REMOTE),
    ("EMPLOYER-SAME-DAY", SessionMode.REMOTE),
    ("EMPLOYER-REMOTE", SessionMode.FACE_TO_FACE),
])
def test_a_rule_whose_clause_names_a_mode_never_applies_to_the_other(rule_id: str, mode: SessionMode) -> None:
    assert not RuleConfig.default(rule_id).applies_to(session(mode=mode))


def test_a_disabled_rule_applies_to_nothing() -> None:
    assert not RuleConfig.default("AP-REPORT", enabled=False).applies_to(session())


@pytest.mark.parametrize(("name", "enabled"), [
    ("ap_tuition", {"AP-REPORT", "AP-NOSHOW", "AP-DSL", "DSL-ACK"}),
    ("apprenticeship_f2f", {"F2F-REGISTER", "TUTOR-EARLY", "EMPLOYER-SAME-DAY", "EMPLOYER-REMOTE", "REBOOK-121"}),
    ("residential_events", {"EVENTS-CALL"}),
    ("coaching", set()),
])
def test_each_preset_lists_every_rule_and_switches_on_its_own(name: str, enabled: set[str]) -> None:
    policy = preset(name)
    assert [r.id for r in policy.rules] == list(RULE_IDS)
    assert {r.id for r in policy.enabled_rules()} == enabled


def test_the_presets_carry_the_rules_md_numbers() -> None:
    ap, sts, events = preset("ap_tuition"), preset("apprenticeship_f2f"), preset("residential_events")
    assert [rule_of(ap, i).offset_minutes for i in ("AP-REPORT", "AP-NOSHOW", "AP-DSL")] == [15, 15, 60]
    assert ap.ack_minutes == 15
    assert sts.register_window_minutes == 30
    assert rule_of(sts, "TUTOR-EARLY").offset_minutes == -10
    assert rule_of(sts, "EMPLOYER-REMOTE").offset_minutes == 30
    assert rule_of(sts, "REBOOK-121").int_param("working_days") == 5
    assert rule_of(sts, "REBOOK-121").applies_to_kinds == (SessionKind.ONE_TO_ONE,)
    assert rule_of(events, "EVENTS-CALL").offset_minutes == 30
    assert (events.event_min_expected, events.events_call_pattern_only) == (3, False)
    assert preset("coaching").late_cancel_hours == 24


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        preset("knitting_circle")
    assert caught.value.code == "unknown_preset"
