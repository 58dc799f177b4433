"""People: participants and pupils, searched by name, e-mail or reference, scoped for tutors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.ownership import person_for, require, tutor_person_ids
from checkin.services.records import changed, record_of
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import enrolments, people, school_history

STORED = ("external_ref", "first_name", "last_name", "email", "ap_pupil", "on_school_roll", "school", "employer",
          "date_of_birth")
COLUMNS = ("id", *STORED, "created_at")
_DEFAULTS = {"external_ref": None, "email": "", "ap_pupil": False, "on_school_roll": True, "school": "",
             "employer": "", "date_of_birth": None}


def person_json(row: Any) -> dict[str, Any]:
    out = record_of(row, COLUMNS)
    return out | {"name": f"{out['first_name']} {out['last_name']}".strip()}


async def list_people(ctx: AppContext, actor: Principal, *, q: str = "", programme_id: int | None = None,
                      limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Every search term must appear in a name, the e-mail or the reference; tutors see their rosters only."""
    query = sa.select(people).where(people.c.org_id == actor.org_id, people.c.deleted_at.is_(None))
    if actor.role is Role.TUTOR:
        query = query.where(people.c.id.in_(tutor_person_ids(actor.user_id)))
    for term in q.lower().split():
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(*(sa.func.lower(sa.func.coalesce(c, "")).like(pattern, escape="\\")
                                     for c in (people.c.first_name, people.c.last_name, people.c.email,
                                               people.c.external_ref))))
    if programme_id is not None:
        query = query.where(people.c.id.in_(sa.select(enrolments.c.person_id)
                                            .where(enrolments.c.programme_id == programme_id)))
    query = query.order_by(people.c.last_name, people.c.first_name, people.c.id).limit(limit).offset(offset)
    async with ctx.db.read() as conn:
        return [person_json(r) for r in (await conn.execute(query)).all()]


async def get_person(ctx: AppContext, actor: Principal, person_id: int) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        return person_json(await person_for(conn, actor, person_id))


async def create_person(ctx: AppContext, actor: Principal, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    values = _DEFAULTS | {k: data[k] for k in STORED if data.get(k) is not None}
    values["external_ref"] = values["external_ref"] or None
    _check_birth(values["date_of_birth"], now)

    async def work(tx: Tx) -> dict[str, Any]:
        await _ref_free(tx.conn, actor.org_id, values["external_ref"], None)
        person_id = (await tx.conn.execute(sa.insert(people).values(
            org_id=actor.org_id, created_at=now, **values).returning(people.c.id))).scalar_one()
        await record(tx.conn, now, actor, "create", "person", person_id, person_id=person_id,
                     after=record_of(values, STORED))
        return person_json((await tx.conn.execute(sa.select(people).where(people.c.id == person_id))).one())

    return await ctx.db.write(work)


async def update_person(ctx: AppContext, actor: Principal, person_id: int, changes: dict[str, Any],
                        now: datetime) -> dict[str, Any]:
    """Applies `changes`; a change of school keeps the old one in the person's school history."""
    values = {k: v for k, v in changes.items() if k in STORED}
    if "external_ref" in values:
        values["external_ref"] = values["external_ref"] or None
    if values.get("date_of_birth") is not None:
        _check_birth(values["date_of_birth"], now)

    async def work(tx: Tx) -> dict[str, Any]:
        row = await require(tx.conn, people, person_id, actor.org_id, "person")
        before = {k: getattr(row, k) for k in STORED}
        diff = changed(before, values)
        if "external_ref" in diff:
            await _ref_free(tx.conn, actor.org_id, diff["external_ref"], person_id)
        if "school" in diff and row.school:
            await tx.conn.execute(sa.insert(school_history).values(
                person_id=person_id, school=row.school, to_date=now.date(), note="changed by staff"))
        if diff:
            await tx.conn.execute(sa.update(people).where(people.c.id == person_id).values(**diff))
            await record(tx.conn, now, actor, "update", "person", person_id, person_id=person_id,
                         before=record_of({k: before[k] for k in diff}, diff), after=record_of(diff, diff))
        return person_json((await tx.conn.execute(sa.select(people).where(people.c.id == person_id))).one())

    return await ctx.db.write(work)


def _check_birth(born: Any, now: datetime) -> None:
    if born is not None and born > now.date():
        raise Invalid("date_in_future", "A date of birth cannot be in the future.", "date_of_birth")


async def _ref_free(conn: AsyncConnection, org_id: int, ref: str | None, own_id: int | None) -> None:
    if not ref:
        return
    query = sa.select(people.c.id).where(people.c.org_id == org_id, people.c.external_ref == ref)
    if own_id is not None:
        query = query.where(people.c.id != own_id)
    if (await conn.execute(query)).first() is not None:
        raise Conflict("external_ref_taken", f"Another person has the reference {ref!r}.", "external_ref")
