"""Set-up helpers for the data-protection and security tests: marked sessions, alerts, principals."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import MarkSource, MarkStatus, Role
from checkin.domain.principal import Principal
from checkin.services.accounts import create_api_token, create_user, hash_password
from checkin.services.marking import MarkResult, record_mark
from checkin.storage.database import Tx
from checkin.storage.tables import alerts, checkin_attempts, users
from tests import factories
from tests.conftest import PASSWORD


async def principal(ctx: AppContext, email: str, role: Role, name: str = "") -> Principal:
    """A staff member of the app's organisation, as the services see them (no password: hashing is slow)."""
    user_id = await create_user(ctx.db, ctx.extras["org_id"], email, name or email.split("@")[0].title(), role,
                                None, ctx.clock())
    async with ctx.db.read() as conn:
        row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).one()
    return Principal(user_id, row.org_id, role, row.name, "cookie")


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once per run (argon2 is slow on purpose)."""
    return hash_password(PASSWORD)


async def staff_with_password(ctx: AppContext, email: str, role: Role) -> int:
    """A staff member who signs in with PASSWORD."""
    return await factories._insert(ctx, users, org_id=ctx.extras["org_id"], email=email, name=email.split("@")[0],
                                   role=role.value, password_hash=password_hash(), created_at=ctx.clock())


async def bearer(ctx: AppContext, email: str, role: Role, name: str = "") -> dict[str, str]:
    """The Authorization header of a new staff member's API token."""
    who = await principal(ctx, email, role, name)
    token = await create_api_token(ctx.db, who, "tests", ctx.clock())
    return {"authorization": f"Bearer {token['token']}"}


async def mark(ctx: AppContext, session_id: int, person_id: int, actor: Principal, at: datetime,
               status: MarkStatus = MarkStatus.PRESENT, **extra: Any) -> MarkResult:
    async def work(tx: Tx) -> MarkResult:
        return await record_mark(tx, ctx, session_id=session_id, person_id=person_id, status=status, code=None,
                                 source=MarkSource.TABLET, actor=actor, now=at, device="tablet-1", client_time=at,
                                 **extra)

    return await ctx.db.write(work)


async def marked_session(ctx: AppContext, tutor: Principal, person_ids: tuple[int, ...], starts_at: datetime,
                         programme_id: int | None = None) -> int:
    """A session at `starts_at` with everyone on it marked present at the start."""
    if programme_id is None:
        programme_id = await factories.programme(ctx, name=f"Programme {starts_at.isoformat()}")
    session_id = await factories.session(ctx, programme_id, starts_at, tutor_ids=(tutor.user_id or 0,),
                                         person_ids=person_ids)
    for person_id in person_ids:
        await mark(ctx, session_id, person_id, tutor, starts_at)
    return session_id


async def alert(ctx: AppContext, person_id: int | None, created_at: datetime, session_id: int | None = None) -> int:
    return await factories._insert(ctx, alerts, org_id=ctx.extras["org_id"], rule_id="AP-DSL", kind="safeguarding",
                                   severity="safeguarding", session_id=session_id, person_id=person_id,
                                   title="No contact after an hour", why="Test", facts={}, created_at=created_at)


async def attempt(ctx: AppContext, session_id: int, person_id: int | None, at: datetime) -> int:
    return await factories._insert(ctx, checkin_attempts, session_id=session_id, person_id=person_id,
                                   device="phone-1", ip="127.0.0.1", outcome="checked_in", at=at)


async def count(ctx: AppContext, table: sa.Table, *where: Any) -> int:
    async with ctx.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one())
