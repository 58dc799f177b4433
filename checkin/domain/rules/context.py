"""The organisation facts a rule may need beyond the session snapshot, as plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from checkin.domain.model import AlertState
from checkin.domain.rules.policy import Policy
from checkin.domain.rules.windows import LONDON


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One step already taken for a person in this session (alert raised, call logged ...)."""

    at: datetime
    what: str


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """What DSL-ACK needs to know about the safeguarding alert it watches.

    `escalation_level` is how far up the chain the alert has gone: 0 when only its first
    recipients have it, n after the n-th DSL-ACK escalation.
    """

    alert_id: int
    state: AlertState
    created_at: datetime
    title: str
    rule_id: str
    person_id: int | None = None
    escalation_level: int = 0
    acknowledged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Everything besides the snapshot: settings, zone and the organisation's records.

    - `previous_unexplained_absences`: per person, unexplained absences before this session.
    - `ap_reports_sent`: per person, the facts of the last AP report sent for this session.
    - `safeguarding_chain`: recipients in escalation order; [0] is who AP-DSL alerted.
    - `open_tasks`: (kind, person_id) of this session's tasks still open.
    - `earlier_steps`: per person, steps to show on a safeguarding timeline.
    """

    policy: Policy = field(default_factory=Policy)
    tz: ZoneInfo = LONDON
    la_ap_address: str = ""
    previous_unexplained_absences: Mapping[int, int] = field(default_factory=dict)
    bank_holidays: frozenset[date] = frozenset()
    ap_reports_sent: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    alert: AlertStatus | None = None
    safeguarding_chain: tuple[str, ...] = ()
    open_tasks: frozenset[tuple[str, int | None]] = frozenset()
    earlier_steps: Mapping[int, tuple[TimelineEntry, ...]] = field(default_factory=dict)
