"""Staff accounts as the admin manages them: list, create, change role, manager, password, deactivate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.accounts import hash_password
from checkin.services.ownership import reference, require
from checkin.services.records import changed, record_of
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import organisations, user_sessions, users

COLUMNS = ("id", "email", "name", "role", "phone", "manager_id", "active", "created_at")
_AUDITED = ("email", "name", "role", "phone", "manager_id", "active")


async def list_staff(ctx: AppContext, actor: Principal, role: Role | None = None,
                     active: bool | None = None) -> list[dict[str, Any]]:
    query = sa.select(users).where(users.c.org_id == actor.org_id).order_by(users.c.name, users.c.id)
    if role is not None:
        query = query.where(users.c.role == role.value)
    if active is not None:
        query = query.where(users.c.active.is_(active))
    async with ctx.db.read() as conn:
        return [record_of(r, COLUMNS) for r in (await conn.execute(query)).all()]


async def create_staff(ctx: AppContext, actor: Principal, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    # Hashing takes tens of milliseconds, so it happens before the unit reaches the writer.
    pw_hash = hash_password(data["password"]) if data.get("password") else None
    email = data["email"].lower()

    async def work(tx: Tx) -> dict[str, Any]:
        await _email_free(tx, email)
        if data.get("manager_id") is not None:
            await _manager(tx, actor.org_id, data["manager_id"])
        values = {"email": email, "name": data["name"], "role": data["role"].value, "phone": data.get("phone") or "",
                  "manager_id": data.get("manager_id"), "active": True}
        user_id = (await tx.conn.execute(sa.insert(users).values(
            org_id=actor.org_id, password_hash=pw_hash, created_at=now, **values).returning(users.c.id))).scalar_one()
        await record(tx.conn, now, actor, "create", "user", user_id, after=values)
        row = (await tx.conn.execute(sa.select(users).where(users.c.id == user_id))).one()
        return record_of(row, COLUMNS)

    return await ctx.db.write(work)


async def update_staff(ctx: AppContext, actor: Principal, user_id: int, changes: dict[str, Any],
                       now: datetime) -> dict[str, Any]:
    """Applies `changes`; a new password or a deactivation also ends the person's sign-in sessions.

    The organisation always keeps one active admin, and a staff member in the safeguarding
    chain cannot be deactivated (nor its DSL lose that role) until the chain is changed.
    """
    pw_hash = hash_password(changes["password"]) if changes.get("password") else None
    values = {k: (v.value if isinstance(v, Role) else v) for k, v in changes.items() if k != "password"}
    if "email" in values:
        values["email"] = values["email"].lower()

    async def work(tx: Tx) -> dict[str, Any]:
        row = await require(tx.conn, users, user_id, actor.org_id, "staff member")
        before = record_of(row, _AUDITED)
        diff = changed(before, values)
        if "email" in diff:
            await _email_free(tx, diff["email"])
        if diff.get("manager_id") is not None:
            await _check_manager(tx, actor.org_id, user_id, diff["manager_id"])
        if ("role" in diff or diff.get("active") is False) and row.role == Role.ADMIN.value and row.active:
            await _not_last_admin(tx, actor.org_id, user_id)
        if "role" in diff or diff.get("active") is False:
            await _chain_kept(tx, actor.org_id, user_id, diff)
        update = dict(diff)
        if pw_hash is not None:
            update |= {"password_hash": pw_hash, "failed_logins": 0, "locked_until": None}
        if update:
            await tx.conn.execute(sa.update(users).where(users.c.id == user_id).values(**update))
        if pw_hash is not None or diff.get("active") is False:
            await tx.conn.execute(sa.update(user_sessions).where(
                user_sessions.c.user_id == user_id, user_sessions.c.revoked_at.is_(None)).values(revoked_at=now))
        if update:
            after = diff | ({"password": "changed"} if pw_hash is not None else {})
            await record(tx.conn, now, actor, "update", "user", user_id,
                         before={k: before[k] for k in diff}, after=after)
        fresh = (await tx.conn.execute(sa.select(users).where(users.c.id == user_id))).one()
        return record_of(fresh, COLUMNS)

    return await ctx.db.write(work)


async def _email_free(tx: Tx, email: str) -> None:
    if (await tx.conn.execute(sa.select(users.c.id).where(users.c.email == email))).first() is not None:
        raise Conflict("email_taken", "A staff member with that e-mail already exists.", "email")


async def _manager(tx: Tx, org_id: int, manager_id: int) -> Any:
    row = await reference(tx.conn, users, manager_id, org_id, "manager_id", "staff member")
    if not row.active:
        raise Invalid("invalid_field", "That manager's account is deactivated.", "manager_id")
    return row


async def _check_manager(tx: Tx, org_id: int, user_id: int, manager_id: int) -> None:
    """Refuses a manager who is the person themselves or reports (at any depth) to them."""
    seen = {user_id}
    current: int | None = manager_id
    await _manager(tx, org_id, manager_id)
    while current is not None:
        if current in seen:
            raise Invalid("manager_cycle", "A staff member cannot be managed by someone who reports to them.",
                          "manager_id")
        seen.add(current)
        current = (await tx.conn.execute(sa.select(users.c.manager_id).where(users.c.id == current))).scalar()


async def _not_last_admin(tx: Tx, org_id: int, user_id: int) -> None:
    others = (await tx.conn.execute(sa.select(sa.func.count()).select_from(users).where(
        users.c.org_id == org_id, users.c.role == Role.ADMIN.value, users.c.active.is_(True),
        users.c.id != user_id))).scalar_one()
    if not others:
        raise Conflict("last_admin", "The organisation needs at least one active admin.", "role")


async def _chain_kept(tx: Tx, org_id: int, user_id: int, diff: dict[str, Any]) -> None:
    chain = (await tx.conn.execute(sa.select(organisations.c.safeguarding_chain)
                                   .where(organisations.c.id == org_id))).scalar() or []
    if user_id not in chain:
        return
    if diff.get("active") is False:
        raise Conflict("in_safeguarding_chain", "Take this person out of the safeguarding chain first.", "active")
    if chain[0] == user_id and diff.get("role", Role.DSL.value) != Role.DSL.value:
        raise Conflict("in_safeguarding_chain", "The first person in the safeguarding chain must stay a DSL.",
                       "role")
