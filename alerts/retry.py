"""When to try a failed delivery again: exponential backoff with bounded jitter, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Exponential backoff, capped, with jitter in the upper half of each nominal delay.

    After attempt n the nominal delay is min(cap_s, base_s * factor ** (n - 1)); the actual
    delay is drawn uniformly from [nominal / 2, nominal]. Full jitter (drawing from
    [0, nominal]) spreads retries best, but can pick a delay near zero: a receiver that has
    just failed would be hit again at once, and after an outage many deliveries would come
    back together in the first seconds. Keeping the lower half out guarantees every retry
    really backs off and the delays still grow, while the upper half keeps many deliveries
    that failed together from retrying in lock-step. With the defaults (30 s doubling, cap
    1 h, 8 attempts) the last attempt comes roughly 32 to 64 minutes after the first.
    """

    base_s: float = 30.0
    factor: float = 2.0
    cap_s: float = 3600.0
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.factor < 1 or self.cap_s < self.base_s or self.max_attempts < 1:
            raise ValueError("need base_s > 0, factor >= 1, cap_s >= base_s and max_attempts >= 1")

    def nominal(self, attempt: int) -> float:
        """The delay before jitter after attempt number `attempt` (1-based)."""
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        try:
            return min(self.cap_s, self.base_s * self.factor ** (attempt - 1))
        except OverflowError:
            return self.cap_s

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds to wait after attempt `attempt`, for rand drawn uniformly from [0, 1)."""
        if not 0.0 <= rand <= 1.0:
            raise ValueError("rand must be within [0, 1]")
        nominal = self.nominal(attempt)
        return nominal / 2 + nominal / 2 * rand

    def next_attempt_at(self, attempt: int, now: datetime, rand: float) -> datetime | None:
        """When to make attempt `attempt + 1`, or None when `attempt` was the last allowed."""
        if attempt >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.delay(attempt, rand))
