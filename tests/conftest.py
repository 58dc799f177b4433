"""Shared fixtures: a fresh SQLite file per test, PostgreSQL when CHECKIN_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from argon2 import PasswordHasher, profiles

from checkin.app import create_app
from checkin.clock import DrivenClock
from checkin.context import AppContext
from checkin.domain.model import Role
from checkin.services import accounts
from checkin.services.accounts import create_user
from checkin.settings import Settings
from checkin.storage.database import Database
from checkin.storage.tables import metadata

PASSWORD = "a-long-test-password"
IN_CI = os.environ.get("CI") == "true"
both_backends = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
postgres_only = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server_url() -> str | None:
    url = os.environ.get("CHECKIN_TEST_POSTGRES_URL")
    if not url and IN_CI:
        pytest.fail("CI must set CHECKIN_TEST_POSTGRES_URL (see .ci/run)")
    return url


@pytest.fixture(scope="session")
def postgres_database(postgres_server_url: str | None) -> Iterator[str | None]:
    """A fresh database for this run on the given server, dropped at the end."""
    if not postgres_server_url:
        yield None
        return
    name = f"checkin_t_{os.getpid()}_{secrets.token_hex(3)}"
    server = sa.engine.make_url(postgres_server_url)
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    asyncio.run(_admin_sql(dsn, f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin_sql(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin_sql(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test process: running every migration costs ~0.2 s a test."""
    path = tmp_path_factory.mktemp("migrated") / "checkin.db"

    async def migrate() -> None:
        database = Database(f"sqlite+aiosqlite:///{path}")
        await database.start()
        await database.close()

    asyncio.run(migrate())
    return path


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """Real argon2 with argon2-cffi's own profile for tests: its production cost (~0.16 s a hash) is on purpose."""
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    kept = accounts._hasher, accounts._DUMMY_HASH
    accounts._hasher, accounts._DUMMY_HASH = hasher, hasher.hash("not-a-real-password-just-timing")
    yield
    accounts._hasher, accounts._DUMMY_HASH = kept


@pytest.fixture
async def database_url(backend: str, tmp_path: Path, postgres_database: str | None, migrated_sqlite: Path) -> str:
    if backend == "sqlite":
        shutil.copyfile(migrated_sqlite, tmp_path / "checkin.db")  # each test still starts on a file of its own
        return f"sqlite+aiosqlite:///{tmp_path / 'checkin.db'}"
    if postgres_database is None:
        pytest.skip("PostgreSQL suite: set CHECKIN_TEST_POSTGRES_URL=postgresql+asyncpg://user@127.0.0.1:5432/db "
                    "(install PostgreSQL to run it)")
    await _reset_postgres(postgres_database)
    return postgres_database


async def _reset_postgres(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        names = (await conn.execute(sa.text(
            "select tablename from pg_tables where schemaname = 'public' and tablename <> 'alembic_version'"
        ))).scalars().all()
        if names:
            await conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
def clock() -> DrivenClock:
    return DrivenClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data", database_url=database_url,
                             secret_key="test-secret-" + "x" * 40, public_base_url="http://testserver")


@pytest.fixture
async def app(settings: Settings, clock: DrivenClock) -> AsyncIterator[Any]:
    application = create_app(settings, clock, background=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def ctx(app: Any) -> AppContext:
    context: AppContext = app.state.ctx
    return context


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def make_user(ctx: AppContext, email: str, role: Role, name: str = "", manager_id: int | None = None) -> int:
    return await create_user(ctx.db, ctx.extras["org_id"], email, name or email.split("@")[0].title(), role,
                             PASSWORD, ctx.clock(), manager_id=manager_id)


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    """Signs `client` in (cookie kept on the client) and returns the CSRF header for writes."""
    r = await client.post("/api/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"x-csrf-token": r.json()["csrf_token"]}


@pytest.fixture
async def admin(ctx: AppContext, client: httpx.AsyncClient) -> dict[str, str]:
    """An admin signed in on `client`; returns the CSRF header."""
    await make_user(ctx, "admin@example.org", Role.ADMIN, "Ada Admin")
    return await sign_in(client, "admin@example.org")


class LiveServer:
    """The real app served by uvicorn on a free loopback port, in a thread of its own."""

    def __init__(self, settings: Settings, background: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings, background=background)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                ws_per_message_deflate=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    def run(self, coro: Any) -> Any:
        """Runs `coro` on the server's own loop (to reach its context from a sync test)."""
        loop = self.app.state.loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)


@pytest.fixture
def live_settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "live", secret_key="live-secret-" + "y" * 40)


__all__ = ["PASSWORD", "LiveServer", "both_backends", "free_port", "make_user", "metadata", "postgres_only", "sign_in"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running on the main
    thread while it is open, which async tests collected after it could not start beside."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))
