"""What a rule asks the watcher service to do: plain records, carried out in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from checkin.domain.model import AlertSeverity


@dataclass(frozen=True, slots=True)
class MarkNoShow:
    """Record a watcher mark of status no_contact with this code."""

    person_id: int
    code: str
    rule_id: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RaiseAlert:
    """A new live alert; `why` is a sentence the recipient can act on, `facts` JSON-ready detail."""

    rule_id: str
    kind: str
    severity: AlertSeverity
    person_id: int | None
    recipients: tuple[str, ...]
    title: str
    why: str
    facts: dict[str, Any] = field(default_factory=dict)
    late_by_seconds: int = 0


@dataclass(frozen=True, slots=True)
class EscalateAlert:
    """Re-send an existing alert to `recipients` and put the step on its timeline."""

    alert_id: int
    rule_id: str
    level: int
    recipients: tuple[str, ...]
    why: str
    facts: dict[str, Any] = field(default_factory=dict)
    late_by_seconds: int = 0


@dataclass(frozen=True, slots=True)
class CreateTask:
    kind: str
    person_id: int | None
    due_at: datetime
    title: str
    recipients: tuple[str, ...]
    rule_id: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendReport:
    """A message to people outside the staff (attendance contacts, employer, local authority)."""

    kind: str
    person_id: int
    recipients: tuple[str, ...]
    facts: dict[str, Any]
    correction: bool = False
    rule_id: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleDeadline:
    """Write a further deadline row: the next step of an escalation."""

    rule_id: str
    person_id: int | None
    due_at: datetime
    stage: int = 0
    alert_id: int | None = None


Action = MarkNoShow | RaiseAlert | EscalateAlert | CreateTask | SendReport | ScheduleDeadline
