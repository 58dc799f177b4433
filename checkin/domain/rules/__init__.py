"""The watcher's live rules as pure functions over plain data, routed by rule id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType

from checkin.domain.model import SessionSnapshot
from checkin.domain.rules.actions import (
    Action,
    CreateTask,
    EscalateAlert,
    MarkNoShow,
    RaiseAlert,
    ScheduleDeadline,
    SendReport,
)
from checkin.domain.rules.ap_dsl import evaluate_ap_dsl
from checkin.domain.rules.ap_noshow import evaluate_ap_noshow
from checkin.domain.rules.ap_report import correction_for, evaluate_ap_report
from checkin.domain.rules.cancellation import CancellationEffect, cancellation_effect
from checkin.domain.rules.catalogue import RULE_IDS, RULE_SPECS
from checkin.domain.rules.context import AlertStatus, RuleContext, TimelineEntry
from checkin.domain.rules.deadlines import DeadlineSpec, ack_deadline, plan_ack_deadline, plan_deadlines
from checkin.domain.rules.dsl_ack import evaluate_dsl_ack
from checkin.domain.rules.employer import evaluate_employer_remote, evaluate_employer_same_day
from checkin.domain.rules.events import evaluate_events_call
from checkin.domain.rules.firing import NotDueError
from checkin.domain.rules.policy import Policy, PolicyError, RuleConfig
from checkin.domain.rules.presets import PRESETS, preset
from checkin.domain.rules.rebook import evaluate_rebook
from checkin.domain.rules.register import evaluate_f2f_register, evaluate_tutor_early
from checkin.domain.rules.workdays import add_working_days

Rule = Callable[[RuleConfig, SessionSnapshot, DeadlineSpec, datetime, RuleContext], list[Action]]

RULES: Mapping[str, Rule] = MappingProxyType({
    "AP-REPORT": evaluate_ap_report,
    "AP-NOSHOW": evaluate_ap_noshow,
    "AP-DSL": evaluate_ap_dsl,
    "DSL-ACK": evaluate_dsl_ack,
    "F2F-REGISTER": evaluate_f2f_register,
    "TUTOR-EARLY": evaluate_tutor_early,
    "EMPLOYER-SAME-DAY": evaluate_employer_same_day,
    "EMPLOYER-REMOTE": evaluate_employer_remote,
    "EVENTS-CALL": evaluate_events_call,
    "REBOOK-121": evaluate_rebook,
})


def evaluate_deadline(snapshot: SessionSnapshot, deadline: DeadlineSpec, now: datetime,
                      context: RuleContext) -> list[Action]:
    """Run the rule a due deadline names under `context.policy`; a rule the policy lacks or has off does nothing.

    Raises NotDueError before the due time and PolicyError for a rule id the engine does not know.
    """
    if deadline.rule_id not in RULES:
        raise PolicyError("unknown_rule", "rule_id", f"there is no rule {deadline.rule_id!r}")
    rule = context.policy.rule(deadline.rule_id)
    if rule is None:
        rule = RuleConfig.default(deadline.rule_id, enabled=False)
    return RULES[deadline.rule_id](rule, snapshot, deadline, now, context)


__all__ = [
    "PRESETS", "RULES", "RULE_IDS", "RULE_SPECS", "Action", "AlertStatus", "CancellationEffect", "CreateTask",
    "DeadlineSpec", "EscalateAlert", "MarkNoShow", "NotDueError", "Policy", "PolicyError", "RaiseAlert", "Rule",
    "RuleConfig", "RuleContext", "ScheduleDeadline", "SendReport", "TimelineEntry", "ack_deadline",
    "add_working_days", "cancellation_effect", "correction_for", "evaluate_deadline", "plan_ack_deadline",
    "plan_deadlines", "preset",
]
