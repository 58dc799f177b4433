"""The long-lived resources one app owns, built by its lifespan and handed to every call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from checkin.clock import Clock
from checkin.live.hub import Hub
from checkin.settings import Settings
from checkin.storage.database import Database


@dataclass
class AppContext:
    settings: Settings
    db: Database
    hub: Hub
    clock: Clock
    http: httpx.AsyncClient
    # Wake-ups the services poke after a commit (watcher: new deadline; dispatcher: new delivery).
    wakers: dict[str, Callable[[], None]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def wake(self, name: str) -> None:
        waker = self.wakers.get(name)
        if waker is not None:
            waker()

    @property
    def secret(self) -> bytes:
        return self.settings.secret_key.encode()
