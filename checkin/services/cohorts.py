"""Cohorts: named intakes of a programme, with optional start and end dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid
from checkin.domain.principal import Principal
from checkin.services.ownership import require
from checkin.services.records import record_of
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import cohorts, programmes

COLUMNS = ("id", "programme_id", "name", "starts_on", "ends_on")


async def list_cohorts(ctx: AppContext, actor: Principal, programme_id: int) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        await require(conn, programmes, programme_id, actor.org_id, "programme")
        rows = (await conn.execute(sa.select(cohorts).where(cohorts.c.programme_id == programme_id)
                                   .order_by(cohorts.c.starts_on, cohorts.c.name, cohorts.c.id))).all()
    return [record_of(r, COLUMNS) for r in rows]


async def create_cohort(ctx: AppContext, actor: Principal, programme_id: int, data: dict[str, Any],
                        now: datetime) -> dict[str, Any]:
    if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
        raise Invalid("ends_before_start", "A cohort cannot end before it starts.", "ends_on")

    async def work(tx: Tx) -> dict[str, Any]:
        await require(tx.conn, programmes, programme_id, actor.org_id, "programme")
        taken = (await tx.conn.execute(sa.select(cohorts.c.id).where(
            cohorts.c.programme_id == programme_id, sa.func.lower(cohorts.c.name) == data["name"].lower()))).first()
        if taken is not None:
            raise Conflict("cohort_name_taken", f"This programme already has a cohort called {data['name']!r}.",
                           "name")
        values = {"programme_id": programme_id, "name": data["name"], "starts_on": data.get("starts_on"),
                  "ends_on": data.get("ends_on")}
        cohort_id = (await tx.conn.execute(sa.insert(cohorts).values(**values).returning(cohorts.c.id))).scalar_one()
        out = record_of(values | {"id": cohort_id}, COLUMNS)
        await record(tx.conn, now, actor, "create", "cohort", cohort_id, after=out)
        return out

    return await ctx.db.write(work)


async def cohort_of(conn: AsyncConnection, programme_id: int, cohort_id: int, field: str = "cohort_id") -> Any:
    """The cohort if it belongs to the programme, else 422 on `field`."""
    row = (await conn.execute(sa.select(cohorts).where(cohorts.c.id == cohort_id,
                                                       cohorts.c.programme_id == programme_id))).first()
    if row is None:
        raise Invalid("invalid_field", f"Cohort {cohort_id} is not a cohort of this programme.", field)
    return row
