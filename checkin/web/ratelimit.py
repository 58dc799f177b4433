"""In-memory token buckets keyed by IP address or device, with an injectable clock.

Each limiter holds one bucket per key: `capacity` tokens, refilled at `refill_per_second`.
Limits live in one process; several instances each enforce their own, which still stops
enumeration (an attacker gains at most a factor of the instance count).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.responses import JSONResponse

from checkin.web.errors import error_response

SecondsClock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request may go ahead; `first_refusal` marks the first refusal since the key was last allowed."""

    allowed: bool
    retry_after: float = 0.0
    first_refusal: bool = False

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds for a Retry-After header, never 0 on a refusal."""
        return max(1, math.ceil(self.retry_after)) if not self.allowed else 0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    refused: bool = False


class RateLimiter:
    """Token buckets for one kind of key; the least recently used buckets are dropped past `max_keys`.

    Dropping a bucket forgets its debt, so keys an attacker can mint (devices) need a second
    limiter on a key they cannot (the IP address), kept in a limiter of its own so a flood of
    new device keys cannot push the IP buckets out.
    """

    def __init__(self, capacity: float, refill_per_second: float, clock: SecondsClock = time.monotonic,
                 max_keys: int = 50_000) -> None:
        if capacity < 1 or refill_per_second <= 0:
            raise ValueError("a bucket needs a capacity of at least 1 and a positive refill rate")
        self.capacity = float(capacity)
        self.refill = float(refill_per_second)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def tokens(self, key: str, now: float | None = None) -> float:
        """The tokens `key` has now (a full bucket for a key never seen)."""
        bucket = self._buckets.get(key)
        return self.capacity if bucket is None else self._level(bucket, self.clock() if now is None else now)

    def check(self, key: str, cost: float = 1.0, now: float | None = None) -> Verdict:
        """Whether `key` could spend `cost` now, without spending it."""
        have = self.tokens(key, now)
        if have >= cost:
            return _ALLOWED
        bucket = self._buckets.get(key)
        return Verdict(False, (cost - have) / self.refill, bucket is None or not bucket.refused)

    def take(self, key: str, cost: float = 1.0) -> Verdict:
        """Spends `cost` tokens of `key`, or refuses with the wait until it could."""
        now = self.clock()
        verdict = self.check(key, cost, now)
        self._record(key, cost if verdict.allowed else 0.0, refused=not verdict.allowed, now=now)
        return verdict

    def reset(self, key: str) -> None:
        self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)

    def _record(self, key: str, cost: float, *, refused: bool, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[key] = bucket
        else:
            self._buckets.move_to_end(key)
        bucket.tokens = self._level(bucket, now) - cost
        bucket.at = max(bucket.at, now)  # a clock that stepped back must not refill the same span twice
        bucket.refused = refused
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def _level(self, bucket: _Bucket, now: float) -> float:
        # a clock that steps back must not mint tokens
        return min(self.capacity, bucket.tokens + max(0.0, now - bucket.at) * self.refill)


_ALLOWED = Verdict(True)


def take_all(checks: Sequence[tuple[RateLimiter, str]], cost: float = 1.0) -> Verdict:
    """Spends from every (limiter, key) pair only when all can pay, so one exhausted key drains no other.

    A refusal waits for the slowest bucket; it is a first refusal when any refusing bucket's is.
    """
    # each clock read once: every scan passes here
    timed = [(limiter, key, limiter.clock()) for limiter, key in checks]
    verdicts = [limiter.check(key, cost, now) for limiter, key, now in timed]
    if all(v.allowed for v in verdicts):
        for limiter, key, now in timed:
            limiter._record(key, cost, refused=False, now=now)
        return _ALLOWED
    refused = [(pair, v) for pair, v in zip(timed, verdicts, strict=True) if not v.allowed]
    for (limiter, key, now), _ in refused:
        limiter._record(key, 0.0, refused=True, now=now)
    return Verdict(False, max(v.retry_after for _, v in refused), any(v.first_refusal for _, v in refused))


def limited_response(verdict: Verdict, message: str = "Too many attempts; wait a moment and try again.",
                     ) -> JSONResponse:
    """The 429 answer: code "rate_limited", a Retry-After header and `retry_after_seconds` in the body."""
    seconds = verdict.retry_after_seconds
    return error_response(429, "rate_limited", message, headers={"Retry-After": str(seconds)},
                          retry_after_seconds=seconds)
