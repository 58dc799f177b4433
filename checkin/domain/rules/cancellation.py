"""LATE-CANCEL: what a cancelled coaching session means for the participant's record (PSW 2.1.2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from checkin.domain.model import CancelledBy, StrEnum
from checkin.domain.rules.windows import as_utc


class CancellationEffect(StrEnum):
    SPENT = "spent"  # counts against the participant (attended-for-allowance = no)
    EXCUSED = "excused"  # cancelled in good time: no effect
    RESCHEDULE_TASK = "reschedule_task"  # staff cancelled: never counts against, a reschedule task is created


def cancellation_effect(cancelled_by: CancelledBy | str, cancelled_at: datetime, session_start: datetime,
                        late_cancel_hours: int = 24) -> CancellationEffect:
    """Participant under `late_cancel_hours` before the start (or after it) -> spent; exactly that many -> excused.

    A cancellation by the coach or the provider never counts against the participant.
    """
    if CancelledBy(cancelled_by) is not CancelledBy.PARTICIPANT:
        return CancellationEffect.RESCHEDULE_TASK
    notice = as_utc(session_start) - as_utc(cancelled_at)
    return CancellationEffect.SPENT if notice < timedelta(hours=late_cancel_hours) else CancellationEffect.EXCUSED
