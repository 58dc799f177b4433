"""The live rules the watcher knows: when each fires, its defaults and what its recipients mean.

Every rule's window is an anchor plus `offset_minutes`:

| id | anchor | default offset | recipients (empty = the defaults below) |
| --- | --- | --- | --- |
| AP-REPORT | start | +15 | report addressees; "la_ap_address" only for pupils not on a school roll |
| AP-NOSHOW | start | +15 | who gets the alert and the call task (attendance contacts get the report) |
| AP-DSL | start | +60 | who gets the safeguarding alert |
| DSL-ACK | alert (+ policy.ack_minutes) | 0 | the chain used when the organisation has configured none |
| F2F-REGISTER | start + policy.register_window_minutes | 0 | an escalation ladder: firing n alerts recipients[n] |
| TUTOR-EARLY | start | -10 | who gets the alert |
| EMPLOYER-SAME-DAY | start + policy.register_window_minutes | 0 | report addressees |
| EMPLOYER-REMOTE | later of `morning` and start + offset | +30 | who gets task and alert (employer: e-mail) |
| EVENTS-CALL | start | +30 | whose call list gains the participant |
| REBOOK-121 | end | 0 | recipients[0] gets the task, the rest the overdue alert |

F2F-REGISTER and EMPLOYER-SAME-DAY hang off the programme's register window so a manager who
changes that window moves both; their offset is extra delay after it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from checkin.domain.model import SessionMode


class Anchor(enum.Enum):
    START = "start"
    REGISTER_WINDOW = "register_window"
    END = "end"
    ALERT = "alert"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What the engine knows about one rule id, independent of any programme's settings."""

    id: str
    anchor: Anchor
    default_offset: int
    clause: str
    default_recipients: tuple[str, ...]
    params: Mapping[str, int | str] = field(default_factory=lambda: MappingProxyType({}))
    before_anchor: bool = False  # the window opens before its anchor, so offsets are <= 0
    modes: tuple[SessionMode, ...] = ()  # the clause itself names the mode
    per_person_roster: bool = True  # needs someone on the roster to be worth planning


def _params(**values: int | str) -> Mapping[str, int | str]:
    return MappingProxyType(values)


RULE_SPECS: Mapping[str, RuleSpec] = MappingProxyType({s.id: s for s in (
    RuleSpec("AP-REPORT", Anchor.START, 15, 'AP "Attendance Reporting"',
             ("attendance_contacts", "la_ap_address")),
    RuleSpec("AP-NOSHOW", Anchor.START, 15, 'AP "Non-Attendance (No Contact Received)"',
             ("tutor", "ap_office"), _params(code="N")),
    RuleSpec("AP-DSL", Anchor.START, 60,
             'AP "If unable to make contact, inform YPM DSL within the first hour"', ("dsl_chain",)),
    RuleSpec("DSL-ACK", Anchor.ALERT, 0,
             'AP "YPM DSL: Acknowledge incident reports and determine further actions"', ("dsl_chain",),
             per_person_roster=False),
    RuleSpec("F2F-REGISTER", Anchor.REGISTER_WINDOW, 0,
             'STS "tutors complete the register within the first 30 minutes"', ("tutor", "manager"),
             _params(escalate_after_minutes=15), modes=(SessionMode.FACE_TO_FACE,)),
    RuleSpec("TUTOR-EARLY", Anchor.START, -10, 'STS "Arrive at least 10 minutes prior"', ("manager",),
             before_anchor=True, per_person_roster=False),
    RuleSpec("EMPLOYER-SAME-DAY", Anchor.REGISTER_WINDOW, 0,
             'STS "Report any unauthorised non-attendance to the employer on the day"', ("employer",),
             modes=(SessionMode.FACE_TO_FACE,)),
    RuleSpec("EMPLOYER-REMOTE", Anchor.START, 30,
             'STS "For remote sessions managers ... contact employers on the morning of the absence"',
             ("manager",), _params(morning="09:00"), modes=(SessionMode.REMOTE,)),
    RuleSpec("EVENTS-CALL", Anchor.START, 30, 'AMB "Non-attendance without notice"', ("events_team",),
             _params(pattern_threshold=2)),
    RuleSpec("REBOOK-121", Anchor.END, 0, 'STS "agree an alternative session within 5 working days"',
             ("tutor", "manager"), _params(working_days=5)),
)})

RULE_IDS: tuple[str, ...] = tuple(RULE_SPECS)
