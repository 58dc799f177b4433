"""CATCH-UP: making good a missed or partly missed session, counted apart from live attendance.

Two ways (AMB, PSW 2.3): attending an alternative session with the same content (a session
whose alternative_for_id is the missed one; booking it puts the participant on its roster),
or catch-up materials, which count once a completion form and a reflective log are in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Invalid, NotFound
from checkin.domain.model import MarkStatus
from checkin.domain.principal import Principal
from checkin.services.completion import reevaluate_person
from checkin.services.completion_records import ATTENDING
from checkin.services.deadlines import replan_session
from checkin.services.ownership import person_for, reference
from checkin.services.records import jsonable
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import catch_ups, marks, people, roster, sessions, users

KINDS = ("alternative", "materials")


def confirmed(row: Any, alternative_mark: str | None) -> bool:
    if row.kind == "materials":
        return row.form_completed_at is not None and bool(row.reflective_log.strip())
    return alternative_mark in ATTENDING


async def _json(conn: AsyncConnection, row: Any) -> dict[str, Any]:
    alt = orig = None
    if row.alternative_session_id:
        alt = (await conn.execute(sa.select(sessions.c.title, sessions.c.starts_at).where(
            sessions.c.id == row.alternative_session_id))).first()
    orig = (await conn.execute(sa.select(sessions.c.title, sessions.c.starts_at).where(
        sessions.c.id == row.session_id))).first()
    alt_mark = (await conn.execute(sa.select(marks.c.status).where(
        marks.c.session_id == row.alternative_session_id, marks.c.person_id == row.person_id))).scalar() \
        if row.alternative_session_id else None
    by = (await conn.execute(sa.select(users.c.name).where(users.c.id == row.confirmed_by))).scalar() \
        if row.confirmed_by else None
    return {
        "id": row.id, "person_id": row.person_id, "session_id": row.session_id,
        "session_title": orig.title if orig else "", "session_starts_at": jsonable(orig.starts_at) if orig else None,
        "kind": row.kind, "alternative_session_id": row.alternative_session_id,
        "alternative_title": alt.title if alt else None,
        "alternative_starts_at": jsonable(alt.starts_at) if alt else None,
        "form_completed_at": jsonable(row.form_completed_at), "reflective_log": row.reflective_log,
        "confirmed": confirmed(row, alt_mark), "confirmed_by": row.confirmed_by, "confirmed_by_name": by or "",
        "created_at": jsonable(row.created_at),
    }


async def record_catch_up(ctx: AppContext, actor: Principal, person_id: int, *, session_id: int, kind: str,
                          now: datetime, alternative_session_id: int | None = None,
                          form_completed_at: datetime | None = None, reflective_log: str = "") -> dict[str, Any]:
    """Records a catch-up for `session_id`; materials with a form and a log count at once."""
    if kind not in KINDS:
        raise Invalid("invalid_choice", f"kind must be one of: {', '.join(KINDS)}", "kind")
    if form_completed_at is not None and form_completed_at > now:
        raise Invalid("invalid_field", "The form cannot have been completed in the future.", "form_completed_at")

    async def work(tx: Tx) -> dict[str, Any]:
        conn = tx.conn
        person = await person_for(conn, actor, person_id)
        session = await reference(conn, sessions, session_id, actor.org_id, "session_id", "session")
        await _check_missed(conn, person.id, session)
        if kind == "alternative":
            if alternative_session_id is None:
                raise Invalid("required", "Say which alternative session the participant attends.",
                              "alternative_session_id")
            alt = await reference(conn, sessions, alternative_session_id, actor.org_id, "alternative_session_id",
                                  "session")
            if alt.alternative_for_id != session.id:
                raise Invalid("not_an_alternative", f"\"{alt.title}\" is not an alternative to \"{session.title}\".",
                              "alternative_session_id")
            await _book(tx, ctx, alt.id, person.id, now)
        elif alternative_session_id is not None:
            raise Invalid("invalid_field", "Catch-up materials have no alternative session.", "alternative_session_id")
        complete = kind == "materials" and form_completed_at is not None and bool(reflective_log.strip())
        new_id = int((await conn.execute(sa.insert(catch_ups).values(
            person_id=person.id, session_id=session.id,
            alternative_session_id=alternative_session_id if kind == "alternative" else None, kind=kind,
            form_completed_at=form_completed_at, reflective_log=reflective_log,
            confirmed_by=actor.user_id if complete else None, created_at=now).returning(catch_ups.c.id))).scalar_one())
        data = await _json(conn, (await conn.execute(sa.select(catch_ups).where(catch_ups.c.id == new_id))).one())
        await record(conn, now, actor, "create", "catch_up", new_id, after=data, person_id=person.id,
                     session_id=session.id)
        await reevaluate_person(tx, ctx, person.id, session.programme_id, now)
        return data

    return await ctx.db.write(work)


async def confirm_materials(ctx: AppContext, actor: Principal, catch_up_id: int, *, form_completed_at: datetime,
                            reflective_log: str, now: datetime) -> dict[str, Any]:
    """Confirms catch-up materials sent earlier: the completion form's date and the reflective log."""
    if form_completed_at > now:
        raise Invalid("invalid_field", "The form cannot have been completed in the future.", "form_completed_at")
    if not reflective_log.strip():
        raise Invalid("required", "The reflective log is required to confirm a catch-up.", "reflective_log")

    async def work(tx: Tx) -> dict[str, Any]:
        conn = tx.conn
        row = (await conn.execute(sa.select(catch_ups, sessions.c.programme_id).join(
            sessions, sessions.c.id == catch_ups.c.session_id).join(people, people.c.id == catch_ups.c.person_id)
            .where(catch_ups.c.id == catch_up_id, people.c.org_id == actor.org_id))).first()
        if row is None:
            raise NotFound("not_found", f"There is no catch-up {catch_up_id}.")
        await person_for(conn, actor, row.person_id)
        if row.kind != "materials":
            raise Conflict("not_materials", "Only a catch-up by materials is confirmed with a form and a log.",
                           "kind")
        before = await _json(conn, row)
        await conn.execute(sa.update(catch_ups).where(catch_ups.c.id == catch_up_id).values(
            form_completed_at=form_completed_at, reflective_log=reflective_log, confirmed_by=actor.user_id))
        data = await _json(conn, (await conn.execute(sa.select(catch_ups).where(catch_ups.c.id == catch_up_id))).one())
        await record(conn, now, actor, "confirm", "catch_up", catch_up_id, before=before, after=data,
                     person_id=row.person_id, session_id=row.session_id)
        await reevaluate_person(tx, ctx, row.person_id, row.programme_id, now)
        return data

    return await ctx.db.write(work)


async def _check_missed(conn: AsyncConnection, person_id: int, session: Any) -> None:
    """Only a session the person is expected at, and did not attend in full, can be caught up."""
    expected = (await conn.execute(sa.select(roster.c.person_id).where(
        roster.c.session_id == session.id, roster.c.person_id == person_id))).first()
    if expected is None:
        raise Invalid("not_on_roster", "That person is not on the roster of the session to catch up.", "session_id")
    status = (await conn.execute(sa.select(marks.c.status).where(
        marks.c.session_id == session.id, marks.c.person_id == person_id))).scalar()
    if status == MarkStatus.PRESENT.value:
        raise Conflict("nothing_to_catch_up", "The participant attended this session in full.", "session_id")
    done = (await conn.execute(sa.select(catch_ups).where(
        catch_ups.c.session_id == session.id, catch_ups.c.person_id == person_id,
        catch_ups.c.kind == "materials", catch_ups.c.form_completed_at.is_not(None)))).first()
    if done is not None and done.reflective_log.strip():
        raise Conflict("already_caught_up", "This session has already been caught up.", "session_id")


async def _book(tx: Tx, ctx: AppContext, session_id: int, person_id: int, now: datetime) -> None:
    """Puts the participant on the alternative session's roster, so its register and rules include them."""
    on = (await tx.conn.execute(sa.select(roster.c.person_id).where(
        roster.c.session_id == session_id, roster.c.person_id == person_id))).first()
    if on is None:
        await tx.conn.execute(sa.insert(roster).values(session_id=session_id, person_id=person_id, added_at=now))
        await replan_session(tx, ctx, session_id, now)


async def person_catch_ups(conn: AsyncConnection, person_id: int,
                           session_ids: list[int] | None = None) -> list[dict[str, Any]]:
    query = sa.select(catch_ups).where(catch_ups.c.person_id == person_id).order_by(catch_ups.c.id)
    if session_ids is not None:
        query = query.where(catch_ups.c.session_id.in_(session_ids))
    return [await _json(conn, r) for r in (await conn.execute(query)).all()]


async def list_catch_ups(ctx: AppContext, actor: Principal, person_id: int) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        await person_for(conn, actor, person_id)
        return await person_catch_ups(conn, person_id)
