"""One outbound alert to one recipient on one channel, as the dispatcher sends it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ChannelName = Literal["email", "webhook"]

# The id travels in a Message-ID and in HTTP headers, so it is limited to characters safe in both.
_DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def delivery_id_for(alert_id: str, channel: str, recipient: str) -> str:
    """A stable idempotency key for one alert sent to one recipient on one channel."""
    digest = hashlib.sha256(f"{alert_id}\x00{channel}\x00{recipient.strip().lower()}".encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True, kw_only=True)
class Message:
    """What to send, already rendered; delivery_id is the key receivers deduplicate on."""

    delivery_id: str
    kind: str
    channel: ChannelName
    to: str
    subject: str
    text: str
    created_at: datetime
    html: str | None = None
    payload: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not _DELIVERY_ID.fullmatch(self.delivery_id):
            raise ValueError(f"delivery_id must match {_DELIVERY_ID.pattern}: {self.delivery_id!r}")
        if self.channel not in ("email", "webhook"):
            raise ValueError(f"unknown channel: {self.channel!r}")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
