"""The outcome of one delivery attempt."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["sent", "retry", "failed", "disabled"]


@dataclass(frozen=True, slots=True)
class SendResult:
    """sent: delivered; retry: try again later; failed: never will be; disabled: endpoint gone (410)."""

    outcome: Outcome
    error: str = ""
    duration_ms: float = 0.0

    @property
    def final(self) -> bool:
        """True when no further attempt should be made."""
        return self.outcome != "retry"


def elapsed_ms(started: float) -> float:
    """Milliseconds since a time.perf_counter() reading."""
    return (time.perf_counter() - started) * 1000.0
