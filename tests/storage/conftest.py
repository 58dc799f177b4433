"""A started Database on the test's backend, for the storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from checkin.storage.database import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.start()
    yield database
    await database.close()
