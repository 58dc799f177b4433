"""The outbox the dispatcher works from; the application implements it on its database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from alerts.message import Message
from alerts.result import SendResult


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to one dispatcher; attempts counts the attempts already made."""

    message: Message
    attempts: int


class DeliveryStore(Protocol):
    """Durable deliveries: pending until recorded sent, failed or disabled.

    A delivery row is written in the same transaction as the alert that causes it (the outbox),
    so an alert and its deliveries exist together or not at all.
    """

    async def claim_due(self, now: datetime, limit: int, lease_until: datetime) -> list[Claimed]:
        """Up to `limit` pending deliveries due by `now` and not under a live lease, leased until
        `lease_until` (on PostgreSQL: FOR UPDATE SKIP LOCKED). A process killed mid-send leaves
        the lease to expire, and the delivery is claimed again: that is what makes it at least once."""
        ...

    async def record_attempt(
        self,
        delivery_id: str,
        attempt: int,
        started_at: datetime,
        duration_ms: float,
        result: SendResult,
        next_attempt_at: datetime | None,
    ) -> None:
        """Append the attempt and settle the delivery in one transaction: sent, failed, disabled
        (the endpoint answered 410: disable it and say so), or pending again at next_attempt_at
        (a retry with next_attempt_at None is out of attempts and ends failed). Clears the lease."""
        ...

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending delivery becomes claimable (its due time or lease expiry)."""
        ...
