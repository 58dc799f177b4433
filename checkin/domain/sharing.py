"""Anti-sharing: one device checking in several different people within a short time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class SharingPolicy:
    """How many different people one device may check in within `window_s` seconds."""

    window_s: int = 600
    max_people: int = 1


def shared_with(
    recent: Iterable[tuple[int, datetime]], person_id: int, now: datetime, policy: SharingPolicy
) -> frozenset[int]:
    """The other people this device checked in within the window either side of `now`.

    Either side, because check-ins queued offline may reach the server out of order.
    """
    window = timedelta(seconds=policy.window_s)
    return frozenset(other for other, at in recent if other != person_id and abs(now - at) <= window)


def flag_device(
    recent: Iterable[tuple[int, datetime]], person_id: int, now: datetime, policy: SharingPolicy
) -> bool:
    """Whether this check-in should be flagged to the tutor as a possibly shared device."""
    return len(shared_with(recent, person_id, now, policy) | {person_id}) > policy.max_people
