"""Numbered live events: emitted in a unit of work, published only once it has committed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from checkin.storage import events
from checkin.storage.database import Database, Tx
from tests.conftest import both_backends

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@both_backends
async def test_an_emitted_event_is_numbered_and_published_after_its_commit(db: Database) -> None:
    published: list[tuple[str, dict[str, Any]]] = []

    async def work(tx: Tx) -> int:
        before = len(published)
        event = await events.emit(tx, lambda c, e: published.append((c, e)), "session:7", "flag", {"n": 1}, NOW)
        assert len(published) == before  # not before the commit
        return int(event["seq"])

    first, second = await db.write(work), await db.write(work)
    async with db.read() as conn:
        stored = await events.since(conn, "session:7", 0, 10)
    assert (first, second) == (1, 2)
    assert [(c, e["seq"], e["type"]) for c, e in published] == [("session:7", 1, "flag"), ("session:7", 2, "flag")]
    assert [e["seq"] for e in stored or []] == [1, 2]


@both_backends
async def test_an_event_emitted_in_a_failed_unit_is_neither_stored_nor_published(db: Database) -> None:
    published: list[Any] = []

    async def work(tx: Tx) -> None:
        await events.emit(tx, lambda c, e: published.append(e), "session:7", "flag", {"n": 1}, NOW)
        raise RuntimeError("the unit fails after emitting")

    with pytest.raises(RuntimeError):
        await db.write(work)
    async with db.read() as conn:
        stored = await events.since(conn, "session:7", 0, 10)
    assert (published, stored) == ([], [])
