"""Schemathesis fuzzes every operation of the served OpenAPI document, signed in as an admin: no 500s.

Bounded in time by a fixed number of generated requests per operation (valid and invalid ones,
derandomized so every run sends the same), against the real server on loopback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.accounts import create_api_token, create_user
from checkin.settings import Settings
from tests import factories
from tests.conftest import LiveServer

# Requests per operation and mode: about 7 x 110 operations, some 30 s on this 2-core machine.
EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 3}


@pytest.fixture
def server(live_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(live_settings, background=False) as s:
        yield s


def _admin_token(server: LiveServer) -> str:
    async def make() -> str:
        ctx = server.app.state.ctx
        org_id = ctx.extras["org_id"]
        programme_id = await factories.programme(ctx)
        person_id = await factories.person(ctx, "Ava", "Example")
        await factories.session(ctx, programme_id, ctx.clock(), person_ids=(person_id,))
        user_id = await create_user(ctx.db, org_id, "fuzz.admin@example.org", "Fuzz Admin", Role.ADMIN, None,
                                    ctx.clock())
        principal = Principal(user_id, org_id, Role.ADMIN, "Fuzz Admin", "token")
        return str((await create_api_token(ctx.db, principal, "fuzzing", ctx.clock()))["token"])

    return str(server.run(make()))


def _fuzz(operation: Any, mode: GenerationMode, count: int, base_url: str, headers: dict[str, str]) -> list[str]:
    """Sends `count` generated requests of one operation; returns the ones answered with a 5xx."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=count, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def probe(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} ({mode.value}): {response.status_code} "
                            f"{response.text[:200]}")

    # an operation with no input cannot be made invalid: nothing to vary for that mode
    with contextlib.suppress(Unsatisfiable):
        probe()
    return failures


def test_fuzzing_every_operation_finds_no_server_error(server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    headers = {"Authorization": f"Bearer {_admin_token(server)}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document has an invalid operation: {result}"
        operations += 1
        for mode, count in EXAMPLES.items():
            failures += _fuzz(result.ok(), mode, count, server.url, headers)
    served = httpx.get(f"{server.url}/api/openapi.json").json()["paths"]
    assert operations == sum(len(methods) for methods in served.values())
    assert failures == [], "\n".join(failures)
