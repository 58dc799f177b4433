"""An in-memory DeliveryStore for the dispatcher tests; the real one lives on the app's database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from alerts.message import Message
from alerts.result import SendResult
from alerts.store import Claimed


@dataclass(frozen=True)
class Attempt:
    attempt: int
    started_at: datetime
    duration_ms: float
    result: SendResult
    next_attempt_at: datetime | None


@dataclass
class Row:
    message: Message
    due_at: datetime
    status: str = "pending"
    attempts: int = 0
    lease_until: datetime | None = None
    log: list[Attempt] = field(default_factory=list)


class MemoryStore:
    """Deliveries keyed by delivery_id, with the same claim and lease rules a database store keeps."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.disabled_endpoints: set[str] = set()

    def add(self, message: Message, due_at: datetime) -> None:
        self.rows[message.delivery_id] = Row(message, due_at)

    def _claimable(self, row: Row, now: datetime) -> bool:
        leased = row.lease_until is not None and row.lease_until > now
        return row.status == "pending" and row.due_at <= now and not leased

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[Claimed]:
        due = sorted((r for r in self.rows.values() if self._claimable(r, now)), key=lambda r: r.due_at)
        for row in due[:limit]:
            row.lease_until = lease_until
        return [Claimed(row.message, row.attempts) for row in due[:limit]]

    async def record_attempt(
        self,
        delivery_id: str,
        attempt: int,
        started_at: datetime,
        duration_ms: float,
        result: SendResult,
        next_attempt_at: datetime | None,
    ) -> None:
        row = self.rows[delivery_id]
        row.log.append(Attempt(attempt, started_at, duration_ms, result, next_attempt_at))
        row.attempts = attempt
        row.lease_until = None
        if result.outcome == "retry" and next_attempt_at is not None:
            row.due_at = next_attempt_at
        elif result.outcome == "retry":
            row.status = "failed"
        else:
            row.status = result.outcome
        if result.outcome == "disabled":
            self.disabled_endpoints.add(row.message.to)

    async def next_due_at(self) -> datetime | None:
        pending = [r for r in self.rows.values() if r.status == "pending"]
        return min((max(r.due_at, r.lease_until or r.due_at) for r in pending), default=None)
