"""The interface every delivery channel implements."""

from __future__ import annotations

from typing import Protocol

from alerts.message import Message
from alerts.result import SendResult


class Channel(Protocol):
    """Sends one message once; reports the outcome instead of raising for delivery problems."""

    name: str

    async def send(self, message: Message) -> SendResult: ...
