"""How a person stands in a session for the live rules, read from the snapshot as it is now.

The snapshot is read after the deadline, so a mark or notice that arrived at the last second
(or after the due time, when the watcher runs late) is already in it and is honoured: the
rules act on what is known when they run, never on a stale picture.
"""

from __future__ import annotations

from checkin.domain.model import Mark, MarkStatus, Notice, SessionSnapshot

ATTENDED = frozenset({MarkStatus.PRESENT, MarkStatus.LATE, MarkStatus.LEFT_EARLY, MarkStatus.CATCH_UP})
_ABSENT_UNEXPLAINED = frozenset({MarkStatus.ABSENT_UNAUTHORISED, MarkStatus.NO_CONTACT})


def mark_of(snapshot: SessionSnapshot, person_id: int) -> Mark | None:
    return snapshot.marks.get(person_id)


def notice_of(snapshot: SessionSnapshot, person_id: int) -> Notice | None:
    return snapshot.notices.get(person_id)


def attended(mark: Mark | None) -> bool:
    return mark is not None and mark.status in ATTENDED


def unexplained(mark: Mark | None, notice: Notice | None) -> bool:
    """No notice, and either unmarked or marked absent with no reason: a no-show with no contact."""
    if notice is not None:
        return False
    if mark is None:
        return True
    if mark.status is MarkStatus.NO_CONTACT:
        return True
    return mark.status is MarkStatus.ABSENT_UNAUTHORISED and not mark.reason.strip()


def unauthorised_absence(mark: Mark | None, notice: Notice | None) -> bool:
    """Absent without an accepted notice, or unmarked; an explicit staff absence mark decides."""
    if mark is None or mark.status is MarkStatus.NO_CONTACT:
        return not (notice is not None and notice.accepted)
    return mark.status is MarkStatus.ABSENT_UNAUTHORISED


def missed(mark: Mark | None) -> bool:
    """Did not take part (any absence, or unmarked); a catch-up counts as made good."""
    return not attended(mark)
