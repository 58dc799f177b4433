"""Programmes: their settings, attendance policy and completion requirements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Conflict
from checkin.domain.principal import Principal
from checkin.services.completion_queue import evaluates
from checkin.services.completion_store import forget_states
from checkin.services.deadlines import replan_programme
from checkin.services.ownership import require
from checkin.services.programme_policy import DEFAULT_REASONS, check_reasons, settle
from checkin.services.records import changed, record_of
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import marks, programmes, sessions

COLUMNS = ("id", "name", "preset", "code_set", "policy", "requirements", "reasons", "follow_up_style",
           "point_of_contact_email", "weekly_report_to", "qr_rotation_seconds", "grace_minutes", "created_at",
           "updated_at")
_STORED = COLUMNS[1:-2]
# Changing any of these changes when or whether a session's windows fire.
_PLANNING = ("policy", "grace_minutes", "follow_up_style")


async def list_programmes(ctx: AppContext, actor: Principal) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(programmes).where(programmes.c.org_id == actor.org_id)
                                   .order_by(programmes.c.name, programmes.c.id))).all()
    return [record_of(r, COLUMNS) for r in rows]


async def get_programme(ctx: AppContext, actor: Principal, programme_id: int) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        return record_of(await require(conn, programmes, programme_id, actor.org_id, "programme"), COLUMNS)


async def create_programme(ctx: AppContext, actor: Principal, data: dict[str, Any],
                           now: datetime) -> dict[str, Any]:
    """A new programme; policy, requirements and code set come from the preset unless sent."""
    values: dict[str, Any] = {"point_of_contact_email": "", "weekly_report_to": [], "qr_rotation_seconds": 15}
    values |= _plain(data)
    values |= settle(data, None)
    values["reasons"] = check_reasons(data["reasons"]) if data.get("reasons") is not None else list(DEFAULT_REASONS)

    async def work(tx: Tx) -> dict[str, Any]:
        await _name_free(tx, actor.org_id, values["name"], None)
        programme_id = (await tx.conn.execute(sa.insert(programmes).values(
            org_id=actor.org_id, created_at=now, updated_at=now, **values).returning(programmes.c.id))).scalar_one()
        await record(tx.conn, now, actor, "create", "programme", programme_id, after=values)
        return await _fresh(tx, programme_id)

    return await ctx.db.write(work)


async def update_programme(ctx: AppContext, actor: Principal, programme_id: int, changes: dict[str, Any],
                           now: datetime) -> dict[str, Any]:
    """Applies `changes`; a changed policy re-plans the deadlines of the programme's sessions to come."""

    async def work(tx: Tx) -> dict[str, Any]:
        row = await require(tx.conn, programmes, programme_id, actor.org_id, "programme")
        before = record_of(row, _STORED)
        after = _plain(changes)
        if "reasons" in changes:
            after["reasons"] = check_reasons(changes["reasons"])
        after |= settle(changes, before)
        diff = changed(before, after)
        if "name" in diff:
            await _name_free(tx, actor.org_id, diff["name"], programme_id)
        if "code_set" in diff:
            await _code_set_unused(tx, programme_id)
        if diff:
            await tx.conn.execute(sa.update(programmes).where(programmes.c.id == programme_id)
                                  .values(updated_at=now, **diff))
            await record(tx.conn, now, actor, "update", "programme", programme_id,
                         before={k: before[k] for k in diff}, after=diff)
        if "requirements" in diff and not evaluates(diff["requirements"]):
            await forget_states(tx.conn, programme_id)  # its marks no longer queue the re-evaluation that would
        if any(k in diff for k in _PLANNING):
            await replan_programme(tx, ctx, programme_id, now)
        return await _fresh(tx, programme_id)

    return await ctx.db.write(work)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """The settings stored as sent (None = not sent)."""
    names = ("name", "point_of_contact_email", "weekly_report_to", "qr_rotation_seconds")
    return {k: data[k] for k in names if data.get(k) is not None}


async def _fresh(tx: Tx, programme_id: int) -> dict[str, Any]:
    return record_of((await tx.conn.execute(sa.select(programmes).where(programmes.c.id == programme_id))).one(),
                     COLUMNS)


async def _name_free(tx: Tx, org_id: int, name: str, own_id: int | None) -> None:
    query = sa.select(programmes.c.id).where(programmes.c.org_id == org_id,
                                             sa.func.lower(programmes.c.name) == name.lower())
    if own_id is not None:
        query = query.where(programmes.c.id != own_id)
    if (await tx.conn.execute(query)).first() is not None:
        raise Conflict("programme_name_taken", f"There is already a programme called {name!r}.", "name")


async def _code_set_unused(tx: Tx, programme_id: int) -> None:
    """Marks keep the codes they were written with, so a programme with marks keeps its code set."""
    used = (await tx.conn.execute(sa.select(marks.c.session_id).join(sessions, sessions.c.id == marks.c.session_id)
                                  .where(sessions.c.programme_id == programme_id).limit(1))).first()
    if used is not None:
        raise Conflict("code_set_in_use", "Sessions of this programme already hold marks in its code set.",
                       "code_set")
