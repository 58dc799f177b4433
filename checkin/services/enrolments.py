"""Enrolments: a person on a programme (optionally a cohort), with a status completion respects."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid, NotFound
from checkin.domain.model import EnrolmentStatus
from checkin.domain.principal import Principal
from checkin.services.cohorts import cohort_of
from checkin.services.ownership import person_for, reference, require
from checkin.services.records import changed, record_of
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import cohorts, enrolments, people, programmes

STORED = ("cohort_id", "status", "starts_on", "ends_on")
COLUMNS = ("id", "person_id", "programme_id", *STORED, "updated_at")


def _select() -> sa.Select[Any]:
    return (sa.select(enrolments, programmes.c.name.label("programme_name"), cohorts.c.name.label("cohort_name"))
            .join(programmes, programmes.c.id == enrolments.c.programme_id)
            .outerjoin(cohorts, cohorts.c.id == enrolments.c.cohort_id))


def _json(row: Any) -> dict[str, Any]:
    return record_of(row, COLUMNS) | {"programme_name": row.programme_name, "cohort_name": row.cohort_name}


async def list_enrolments(ctx: AppContext, actor: Principal, person_id: int) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        await person_for(conn, actor, person_id)
        rows = (await conn.execute(_select().where(enrolments.c.person_id == person_id)
                                   .order_by(programmes.c.name, enrolments.c.id))).all()
    return [_json(r) for r in rows]


async def create_enrolment(ctx: AppContext, actor: Principal, person_id: int, data: dict[str, Any],
                           now: datetime) -> dict[str, Any]:
    values = {"cohort_id": data.get("cohort_id"), "status": _plain(data.get("status") or EnrolmentStatus.ACTIVE),
              "starts_on": data.get("starts_on"), "ends_on": data.get("ends_on")}
    _check_dates(values)

    async def work(tx: Tx) -> dict[str, Any]:
        await require(tx.conn, people, person_id, actor.org_id, "person")
        programme = await reference(tx.conn, programmes, data["programme_id"], actor.org_id, "programme_id",
                                    "programme")
        if values["cohort_id"] is not None:
            await cohort_of(tx.conn, programme.id, values["cohort_id"])
        taken = (await tx.conn.execute(sa.select(enrolments.c.id).where(
            enrolments.c.person_id == person_id, enrolments.c.programme_id == programme.id))).first()
        if taken is not None:
            raise Conflict("already_enrolled", "This person is already enrolled on that programme.", "programme_id",
                           enrolment_id=taken.id)
        enrolment_id = (await tx.conn.execute(sa.insert(enrolments).values(
            person_id=person_id, programme_id=programme.id, updated_at=now, **values)
            .returning(enrolments.c.id))).scalar_one()
        await record(tx.conn, now, actor, "create", "enrolment", enrolment_id, person_id=person_id,
                     after=record_of(values, STORED) | {"programme_id": programme.id})
        return await _fresh(tx.conn, enrolment_id)

    return await ctx.db.write(work)


async def update_enrolment(ctx: AppContext, actor: Principal, enrolment_id: int, changes: dict[str, Any],
                           now: datetime) -> dict[str, Any]:
    async def work(tx: Tx) -> dict[str, Any]:
        row = (await tx.conn.execute(sa.select(enrolments).join(people, people.c.id == enrolments.c.person_id).where(
            enrolments.c.id == enrolment_id, people.c.org_id == actor.org_id))).first()
        if row is None:
            raise NotFound("not_found", f"There is no enrolment {enrolment_id}.")
        before = {k: getattr(row, k) for k in STORED}
        diff = changed(before, {k: _plain(v) for k, v in changes.items() if k in STORED})
        _check_dates(before | diff)
        if diff.get("cohort_id") is not None:
            await cohort_of(tx.conn, row.programme_id, diff["cohort_id"])
        if diff:
            await tx.conn.execute(sa.update(enrolments).where(enrolments.c.id == enrolment_id)
                                  .values(updated_at=now, **diff))
            await record(tx.conn, now, actor, "update", "enrolment", enrolment_id, person_id=row.person_id,
                         before=record_of({k: before[k] for k in diff}, diff), after=record_of(diff, diff))
        return await _fresh(tx.conn, enrolment_id)

    return await ctx.db.write(work)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _check_dates(values: dict[str, Any]) -> None:
    if values.get("starts_on") and values.get("ends_on") and values["ends_on"] < values["starts_on"]:
        raise Invalid("ends_before_start", "An enrolment cannot end before it starts.", "ends_on")


async def _fresh(conn: AsyncConnection, enrolment_id: int) -> dict[str, Any]:
    return _json((await conn.execute(_select().where(enrolments.c.id == enrolment_id))).one())
