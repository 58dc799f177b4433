"""In-process publish/subscribe: one room per channel, a bounded queue per subscriber.

A subscriber that falls behind is dropped with `overflowed` set rather than slowing the
room: the database holds every event, so the client resyncs from there.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]


@dataclass(eq=False)
class Subscription:
    channel: str
    queue: asyncio.Queue[Event | None]
    overflowed: bool = False
    closed: bool = False

    async def get(self) -> Event | None:
        """The next event, or None once the subscription is closed or overflowed."""
        if self.closed:
            return None
        return await self.queue.get()


@dataclass
class Hub:
    queue_size: int = 256
    # On PostgreSQL every event reaches subscribers through the relay (in commit order, from the
    # table), so the local after-commit publish is skipped rather than delivered twice.
    relay_only: bool = False
    rooms: dict[str, set[Subscription]] = field(default_factory=lambda: defaultdict(set))
    published: int = 0

    def subscribe(self, channel: str) -> Subscription:
        sub = Subscription(channel, asyncio.Queue(self.queue_size + 1))
        self.rooms[channel].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        room = self.rooms.get(sub.channel)
        if room is not None:
            room.discard(sub)
            if not room:
                del self.rooms[sub.channel]

    def publish(self, channel: str, event: Event) -> None:
        """Announces a committed event; delivered here unless the relay delivers it."""
        if not self.relay_only:
            self.deliver(channel, event)

    def deliver(self, channel: str, event: Event) -> None:
        """Hands `event` to every subscriber of `channel` without waiting on any of them."""
        self.published += 1
        room = self.rooms.get(channel)
        if not room:
            return
        for sub in list(room):
            if sub.queue.qsize() >= self.queue_size:
                sub.overflowed = True
                sub.queue.put_nowait(None)
                self.unsubscribe(sub)
            else:
                sub.queue.put_nowait(event)

    def subscribers(self, channel: str) -> int:
        return len(self.rooms.get(channel, ()))
