"""Set-up shared by the watcher tests: an AP programme, a pupil with emergency contacts, a session, its deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.model import MarkSource, MarkStatus, Role
from checkin.domain.rules import preset
from checkin.services.deadlines import replan_session
from checkin.services.marking import record_mark
from checkin.services.programme_presets import PROGRAMME_PRESETS
from checkin.storage.database import Tx
from checkin.storage.tables import alerts, deadlines, follow_ups, organisations, users
from tests import factories

MUM_PHONE = "07700 900123"
GRAN_PHONE = "07700 900456"


@dataclass(frozen=True)
class ApSession:
    session_id: int
    person_id: int
    tutor_id: int
    dsl_id: int


async def staff(ctx: AppContext) -> tuple[int, int]:
    """A tutor and a DSL (first in the organisation's safeguarding chain), made once per app."""
    if "watcher_staff" not in ctx.extras:
        tutor = await _staff_member(ctx, "tutor@example.org", Role.TUTOR, "Tess Tutor")
        dsl = await _staff_member(ctx, "dsl@example.org", Role.DSL, "Dee Lead")
        deputy = await _staff_member(ctx, "deputy@example.org", Role.DSL, "Dan Deputy")

        async def chain(tx: Tx) -> None:
            await tx.conn.execute(sa.update(organisations).where(organisations.c.id == ctx.extras["org_id"]).values(
                safeguarding_chain=[dsl, deputy], ap_office_email="ap-office@example.org"))

        await ctx.db.write(chain)
        ctx.extras["watcher_staff"] = (tutor, dsl)
    return ctx.extras["watcher_staff"]


async def _staff_member(ctx: AppContext, email: str, role: Role, name: str) -> int:
    """A staff row without a password (these never sign in), so set-up skips the deliberately slow hash."""
    async def work(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(users).values(
            org_id=ctx.extras["org_id"], email=email, name=name, role=role.value, created_at=ctx.clock())
            .returning(users.c.id))).scalar_one())

    return await ctx.db.write(work)


async def ap_programme(ctx: AppContext) -> int:
    if "watcher_programme" not in ctx.extras:
        ctx.extras["watcher_programme"] = await factories.programme(
            ctx, name="AP Tuition", preset="ap_tuition", policy=preset("ap_tuition").to_dict(),
            requirements=PROGRAMME_PRESETS["ap_tuition"].requirements_list())
    return ctx.extras["watcher_programme"]


async def ap_session(ctx: AppContext, starts_at: datetime, *, first: str = "Ava", plan_at: datetime | None = None,
                     on_school_roll: bool = True) -> ApSession:
    """An AP session with one pupil who has two emergency contacts, its deadlines planned at `plan_at`."""
    tutor, dsl = await staff(ctx)
    programme = await ap_programme(ctx)
    pupil = await factories.person(ctx, first, "Example", ap_pupil=True, on_school_roll=on_school_roll)
    await factories.contact(ctx, pupil, "emergency", "Mona Example", relationship="mother", phone=MUM_PHONE)
    await factories.contact(ctx, pupil, "emergency", "Gina Example", relationship="grandmother", phone=GRAN_PHONE,
                            priority=1)
    await factories.contact(ctx, pupil, "attendance", "Sam Officer", email="attendance@school.example.org")
    session_id = await factories.session(ctx, programme, starts_at, tutor_ids=(tutor,), person_ids=(pupil,))
    await plan(ctx, session_id, plan_at or ctx.clock())
    return ApSession(session_id, pupil, tutor, dsl)


async def plan(ctx: AppContext, session_id: int, now: datetime) -> None:
    async def work(tx: Tx) -> None:
        await replan_session(tx, ctx, session_id, now)

    await ctx.db.write(work)


async def mark(ctx: AppContext, s: ApSession, status: MarkStatus, now: datetime) -> None:
    async def work(tx: Tx) -> None:
        await record_mark(tx, ctx, session_id=s.session_id, person_id=s.person_id, status=status, code=None,
                          source=MarkSource.TABLET, actor=None, now=now, device="test tablet")

    await ctx.db.write(work)


async def follow_up(ctx: AppContext, s: ApSession, outcome: str, now: datetime) -> None:
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.insert(follow_ups).values(
            org_id=ctx.extras["org_id"], session_id=s.session_id, person_id=s.person_id, contact_name="Mona Example",
            method="phone", outcome=outcome, note="", logged_by=s.tutor_id, logged_at=now))

    await ctx.db.write(work)


async def rows(ctx: AppContext, table: sa.Table, *where: Any) -> list[Any]:
    async with ctx.db.read() as conn:
        order = table.c.id if "id" in table.c else next(iter(table.primary_key.columns))
        return list((await conn.execute(sa.select(table).where(*where).order_by(order))).all())


async def alerts_of(ctx: AppContext, session_id: int, rule_id: str | None = None) -> list[Any]:
    where = [alerts.c.session_id == session_id]
    if rule_id:
        where.append(alerts.c.rule_id == rule_id)
    return await rows(ctx, alerts, *where)


async def deadlines_of(ctx: AppContext, session_id: int | None = None) -> list[Any]:
    where = [] if session_id is None else [deadlines.c.session_id == session_id]
    return await rows(ctx, deadlines, *where)
