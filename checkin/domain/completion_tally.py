"""One participant's sessions as plain records, what each one counts as, and their tally."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from checkin.domain.completion_times import DEFAULT_CATCH_UP_THRESHOLD, catch_up_required
from checkin.domain.model import Category, StrEnum

Persistence = Literal["none", "persistent", "severe"]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One session a participant was expected at, with what happened.

    `category` is the category of the current mark's code (None: unmarked or not happened yet);
    `live` means attended the session itself (for a late or left-early mark too);
    `catch_up` means the content was made good by an alternative session or confirmed materials;
    `spent` is a late cancellation by the participant (PSW 2.1.2), counting against them;
    `excluded` is force majeure or a cancellation by the coach or provider, left out of percentages;
    `minutes_missed_share` is the share (0..1) of content missed by leaving early or arriving late;
    `future` marks a session still to come (so does a start after `now`).
    """

    session_id: int
    element: str
    starts_at: datetime
    mandatory: bool = True
    category: Category | None = None
    live: bool = False
    catch_up: bool = False
    spent: bool = False
    excluded: bool = False
    minutes_missed_share: float = 0.0
    future: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.minutes_missed_share <= 1.0:
            raise ValueError(f"minutes_missed_share must be within 0..1, not {self.minutes_missed_share}")

    @property
    def register_present(self) -> bool:
        """Present as a register counts it: the code's category decides, else the live flag."""
        return self.category == Category.PRESENT if self.category is not None else self.live


class Outcome(StrEnum):
    """What one session counts as towards completion."""

    ATTENDED = "attended"  # live, and no catch-up outstanding for leaving early
    CAUGHT_UP = "caught_up"  # missed live, content made good
    MISSED = "missed"  # absent, or left too early, and not caught up (yet)
    SPENT = "spent"  # late-cancelled by the participant: counts against, no catch-up
    EXCLUDED = "excluded"  # force majeure, cancelled by the coach, not a possible session
    REMAINING = "remaining"  # still to come
    UNMARKED = "unmarked"  # past, with no mark yet


DECIDED = frozenset({Outcome.ATTENDED, Outcome.CAUGHT_UP, Outcome.MISSED, Outcome.SPENT})


def classify(record: SessionRecord, now: datetime,
             left_early_threshold: float = DEFAULT_CATCH_UP_THRESHOLD) -> Outcome:
    """What `record` counts as at `now`.

    A spent session counts against even when caught up (PSW 2.1.2 says it impacts the record,
    and coaching has no catch-up), and counts from the moment it is cancelled. A live session
    with more content missed than the threshold counts as missed until caught up (AMB "look at
    the proportion of the content that has been missed and decide if there is a need to
    catch-up"). A past session with no mark is neither attended nor missed yet: it waits for
    the register, so projections treat it like one still to come.
    """
    if record.excluded or record.category == Category.NOT_POSSIBLE:
        return Outcome.EXCLUDED
    if record.spent:
        return Outcome.SPENT
    if record.live or record.category == Category.PRESENT:
        if catch_up_required(record.minutes_missed_share, left_early_threshold) and not record.catch_up:
            return Outcome.MISSED
        return Outcome.ATTENDED
    if record.catch_up:
        return Outcome.CAUGHT_UP
    if record.future or record.starts_at > now:
        return Outcome.REMAINING
    if record.category is None:
        return Outcome.UNMARKED
    return Outcome.MISSED


def percent(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


_NONE = dict.fromkeys(Outcome, 0)  # iterating an Enum is slow, and every evaluation tallies


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts of outcomes over some sessions; percentages are over decided sessions only."""

    attended: int = 0
    caught_up: int = 0
    missed: int = 0
    spent: int = 0
    excluded: int = 0
    remaining: int = 0
    unmarked: int = 0
    left_early: int = 0  # of `missed`: attended live but left too early, catch-up outstanding
    present: int = 0  # of decided: present as a register counts it

    @classmethod
    def of(cls, classified: Iterable[tuple[SessionRecord, Outcome]]) -> Tally:
        counts = dict(_NONE)
        left_early = present = 0
        for record, outcome in classified:
            counts[outcome] += 1
            left_early += outcome == Outcome.MISSED and (record.live or record.category == Category.PRESENT)
            present += outcome in DECIDED and record.register_present
        return cls(counts[Outcome.ATTENDED], counts[Outcome.CAUGHT_UP], counts[Outcome.MISSED],
                   counts[Outcome.SPENT], counts[Outcome.EXCLUDED], counts[Outcome.REMAINING],
                   counts[Outcome.UNMARKED], left_early, present)

    @property
    def decided(self) -> int:
        return self.attended + self.caught_up + self.missed + self.spent

    @property
    def pending(self) -> int:
        return self.remaining + self.unmarked

    @property
    def counted(self) -> int:
        """Every session that counts towards percentages: decided or still pending."""
        return self.decided + self.pending

    @property
    def percent(self) -> float | None:
        """Completed so far (live or caught up) as a share of decided sessions."""
        return percent(self.attended + self.caught_up, self.decided)

    @property
    def live_percent(self) -> float | None:
        return percent(self.attended, self.decided)

    @property
    def attendance_percent(self) -> float | None:
        """Register attendance: present codes over possible sessions (AP-90, PERSISTENT, weekly)."""
        return percent(self.present, self.decided)

    @property
    def best_percent(self) -> float | None:
        """If every pending session is attended and every missed one caught up (spent ones cannot be)."""
        return percent(self.counted - self.spent, self.counted)

    def to_dict(self) -> dict[str, object]:
        return {
            "attended": self.attended, "caught_up": self.caught_up, "missed": self.missed,
            "spent": self.spent, "excluded": self.excluded, "remaining": self.remaining,
            "unmarked": self.unmarked, "left_early": self.left_early, "present": self.present,
            "percent": self.percent, "live_percent": self.live_percent,
            "attendance_percent": self.attendance_percent, "best_percent": self.best_percent,
        }


class CompletionStatus(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"  # can still complete, but only by attending (nearly) all that is left or catching up
    CANNOT_COMPLETE = "cannot_complete"


SEVERITY = {CompletionStatus.ON_TRACK: 0, CompletionStatus.AT_RISK: 1, CompletionStatus.CANNOT_COMPLETE: 2}


def persistence_flag(attendance_percent: float) -> Persistence:
    """England's absence flags from register attendance.

    "Working together to improve school attendance" defines persistent absence as missing 10%
    or more of possible sessions and severe absence as missing 50% or more, so attendance of
    exactly 90% is already persistent and exactly 50% already severe.
    """
    if attendance_percent <= 50:
        return "severe"
    if attendance_percent <= 90:
        return "persistent"
    return "none"
