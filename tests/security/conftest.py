"""Fixtures for the security tests: staff who act through API tokens (fast: no password hashing)."""

from __future__ import annotations

import httpx
import pytest

from checkin.context import AppContext
from checkin.domain.model import Role
from tests.security.records import bearer


@pytest.fixture
async def as_admin(ctx: AppContext, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """`client` acting as an admin through an API token."""
    client.headers.update(await bearer(ctx, "ada.admin@example.org", Role.ADMIN, "Ada Admin"))
    return client
