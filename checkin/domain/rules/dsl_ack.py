"""DSL-ACK: a safeguarding alert not acknowledged within policy.ack_minutes climbs the safeguarding chain.

Each firing re-sends the alert to its first recipients and to everyone up to the next level
of the organisation's chain, then schedules the next check `ack_minutes` from now (not from
the missed due time, so a watcher that was down gives the new person the full interval
instead of escalating several levels at once). Once the chain is exhausted it keeps
re-sending to all of it until someone acknowledges.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from checkin.domain.model import AlertState, SessionSnapshot
from checkin.domain.rules.actions import Action, EscalateAlert, ScheduleDeadline
from checkin.domain.rules.context import AlertStatus, RuleContext
from checkin.domain.rules.deadlines import DeadlineSpec
from checkin.domain.rules.facts import iso
from checkin.domain.rules.firing import check_due, late_by_seconds
from checkin.domain.rules.policy import RuleConfig
from checkin.domain.rules.windows import as_utc
from checkin.domain.rules.wording import duration_words, hhmm, late_clause, names

RULE_ID = "DSL-ACK"


def escalation_recipients(chain: tuple[str, ...], level: int) -> tuple[str, ...]:
    """The first recipients plus everyone up to `level` in the chain (all of it once exhausted)."""
    return chain[: level + 1]


def evaluate_dsl_ack(rule: RuleConfig, snapshot: SessionSnapshot | None, deadline: DeadlineSpec, now: datetime,
                     context: RuleContext) -> list[Action]:
    """Escalate the alert in `context.alert` unless it has been acknowledged or closed.

    The session's status does not matter: a safeguarding alert outlives a cancelled session.
    """
    if deadline.rule_id != RULE_ID:
        raise ValueError(f"a {deadline.rule_id} deadline was routed to {RULE_ID}")
    check_due(deadline, now)
    alert = context.alert
    if alert is None or alert.alert_id != deadline.alert_id:
        raise ValueError("DSL-ACK needs the state of the alert its deadline names in context.alert")
    if not rule.enabled or alert.state is not AlertState.OPEN:
        return []
    chain = context.safeguarding_chain or rule.addressees
    level = alert.escalation_level + 1
    exhausted = level >= len(chain)
    recipients = escalation_recipients(chain, level)
    late = late_by_seconds(deadline, now)
    return [
        EscalateAlert(alert.alert_id, RULE_ID, level, recipients, _why(alert, chain, level, now, context, late,
                                                                      deadline),
                      {"level": level, "chain": list(chain), "chain_exhausted": exhausted,
                       "unacknowledged_seconds": int((as_utc(now) - as_utc(alert.created_at)).total_seconds()),
                       "due_at": iso(deadline.due_at)}, late),
        ScheduleDeadline(RULE_ID, deadline.person_id, as_utc(now) + timedelta(minutes=context.policy.ack_minutes),
                         stage=level + 1, alert_id=alert.alert_id),
    ]


def _why(alert: AlertStatus, chain: tuple[str, ...], level: int, now: datetime, context: RuleContext, late: int,
         deadline: DeadlineSpec) -> str:
    tz = context.tz
    waited = duration_words(int((as_utc(now) - as_utc(alert.created_at)).total_seconds()))
    opening = (f'The safeguarding alert "{alert.title}" raised at {hhmm(alert.created_at, tz)} has not been '
               f"acknowledged after {waited}.")
    if level < len(chain):
        step = f" It has been sent again to {names(list(chain[:level]))} and escalated to {chain[level]}."
    else:
        step = (f" It has been sent again to {names(list(chain))}; there is no one further in the safeguarding "
                "chain, so it will keep being re-sent until someone acknowledges it.")
    return opening + step + late_clause(late, deadline.due_at, tz)
