"""Plain vocabulary shared by the whole domain: enums and frozen records, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class StrEnum(str, enum.Enum):
    """A string enum whose value is what is stored and sent."""

    def __str__(self) -> str:
        return self.value


class Role(StrEnum):
    ADMIN = "admin"
    PROGRAMME_MANAGER = "programme_manager"
    TUTOR = "tutor"
    EVENTS_TEAM = "events_team"
    DSL = "dsl"


class SessionMode(StrEnum):
    FACE_TO_FACE = "face_to_face"
    REMOTE = "remote"


class SessionKind(StrEnum):
    AP_TUITION = "ap_tuition"
    WORKSHOP = "workshop"
    ONE_TO_ONE = "one_to_one"
    GROUP = "group"
    COACHING = "coaching"
    CLINIC = "clinic"
    CONFERENCE = "conference"
    RESIDENTIAL = "residential"
    TWILIGHT = "twilight"
    PEER_GROUP = "peer_group"
    MODULE = "module"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    FORCE_MAJEURE = "force_majeure"


class CancelledBy(StrEnum):
    PARTICIPANT = "participant"
    COACH = "coach"
    PROVIDER = "provider"


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    DEFERRED = "deferred"
    WITHDRAWN = "withdrawn"
    PARENTAL_LEAVE = "parental_leave"


class ContactKind(StrEnum):
    ATTENDANCE = "attendance"
    EMERGENCY = "emergency"
    EMPLOYER = "employer"
    LINE_MANAGER = "line_manager"


class Channel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    WEBHOOK = "webhook"


class MarkStatus(StrEnum):
    """What a mark says happened; the code set maps codes onto these."""

    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    ABSENT_AUTHORISED = "absent_authorised"
    ABSENT_UNAUTHORISED = "absent_unauthorised"
    NO_CONTACT = "no_contact"
    CATCH_UP = "catch_up"
    NOT_POSSIBLE = "not_possible"


class MarkSource(StrEnum):
    TABLET = "tablet"
    QR = "qr"
    BADGE = "badge"
    IMPORT = "import"
    WATCHER = "watcher"
    API = "api"


class Category(StrEnum):
    """How a code counts in reports."""

    PRESENT = "present"
    AUTHORISED = "authorised"
    UNAUTHORISED = "unauthorised"
    NOT_POSSIBLE = "not_possible"


class FollowUpOutcome(StrEnum):
    REACHED = "reached"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    EMAIL_SENT = "email_sent"


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    SAFEGUARDING = "safeguarding"


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class TaskState(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    person_id: int
    kind: ContactKind
    name: str
    relationship: str = ""
    phone: str = ""
    email: str = ""
    organisation: str = ""
    preferred_channel: Channel = Channel.EMAIL


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    first_name: str
    last_name: str
    email: str = ""
    ap_pupil: bool = False
    on_school_roll: bool = True
    school: str = ""
    employer: str = ""
    phone: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class Mark:
    """The current mark of one person in one session (the latest history row)."""

    person_id: int
    status: MarkStatus
    code: str
    recorded_at: datetime
    arrived_at: datetime | None = None
    departed_at: datetime | None = None
    minutes_late: int = 0
    reason: str = ""
    source: MarkSource = MarkSource.TABLET


@dataclass(frozen=True, slots=True)
class Notice:
    person_id: int
    reason: str
    accepted: bool
    received_at: datetime
    given_by: str = ""


@dataclass(frozen=True, slots=True)
class FollowUp:
    person_id: int
    outcome: FollowUpOutcome
    logged_at: datetime
    contact_name: str = ""
    method: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    title: str
    kind: SessionKind
    mode: SessionMode
    starts_at: datetime
    ends_at: datetime
    programme_id: int
    element: str = ""
    mandatory: bool = True
    status: SessionStatus = SessionStatus.SCHEDULED
    register_completed_at: datetime | None = None
    tutor_ids: tuple[int, ...] = ()
    tutor_checked_in_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """Everything a rule may look at for one session, read in one transaction."""

    session: SessionInfo
    roster: tuple[Person, ...]
    marks: dict[int, Mark] = field(default_factory=dict)
    notices: dict[int, Notice] = field(default_factory=dict)
    follow_ups: tuple[FollowUp, ...] = ()
    contacts: tuple[Contact, ...] = ()

    def contacts_of(self, person_id: int, kind: ContactKind) -> list[Contact]:
        return [c for c in self.contacts if c.person_id == person_id and c.kind == kind]

    def reached(self, person_id: int) -> bool:
        return any(f.person_id == person_id and f.outcome == FollowUpOutcome.REACHED for f in self.follow_ups)
