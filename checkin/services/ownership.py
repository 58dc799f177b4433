"""Scoping: every id an actor names must be in their organisation, and tutors reach only their own."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.domain.errors import Forbidden, Invalid, NotFound
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.storage.tables import organisations, people, roster, session_tutors, sessions


def _in_org(table: sa.Table, row_id: int, org_id: int) -> sa.Select[Any]:
    query = sa.select(table).where(table.c.id == row_id, table.c.org_id == org_id)
    if table is people:
        query = query.where(people.c.deleted_at.is_(None))
    return query


async def require(conn: AsyncConnection, table: sa.Table, row_id: int, org_id: int, noun: str) -> Any:
    """The row named in the URL, or 404 not_found (another organisation's id looks the same as none)."""
    row = (await conn.execute(_in_org(table, row_id, org_id))).first()
    if row is None:
        raise NotFound("not_found", f"There is no {noun} {row_id}.")
    return row


async def reference(conn: AsyncConnection, table: sa.Table, row_id: int, org_id: int, field: str,
                    noun: str) -> Any:
    """A row named in a request body, or 422 invalid_field on that field."""
    row = (await conn.execute(_in_org(table, row_id, org_id))).first()
    if row is None:
        raise Invalid("invalid_field", f"There is no {noun} {row_id} in your organisation.", field)
    return row


async def org_zone(conn: AsyncConnection, org_id: int) -> ZoneInfo:
    name = (await conn.execute(sa.select(organisations.c.timezone).where(organisations.c.id == org_id))).scalar()
    return ZoneInfo(name or "Europe/London")


async def teaches(conn: AsyncConnection, user_id: int | None, session_id: int) -> bool:
    found = (await conn.execute(sa.select(session_tutors.c.session_id).where(
        session_tutors.c.session_id == session_id, session_tutors.c.user_id == user_id))).first()
    return found is not None


async def teaches_person(conn: AsyncConnection, user_id: int | None, person_id: int) -> bool:
    """Whether the person is on the roster of any session this user teaches."""
    found = (await conn.execute(
        sa.select(roster.c.person_id)
        .join(session_tutors, session_tutors.c.session_id == roster.c.session_id)
        .where(roster.c.person_id == person_id, session_tutors.c.user_id == user_id).limit(1)
    )).first()
    return found is not None


async def session_for(conn: AsyncConnection, actor: Principal, session_id: int) -> Any:
    """The session row if the actor may act on it: 404 outside the org, 403 for another tutor's session."""
    row = await require(conn, sessions, session_id, actor.org_id, "session")
    if actor.role is Role.TUTOR and not await teaches(conn, actor.user_id, session_id):
        raise Forbidden("not_your_session", "You do not teach this session.")
    return row


async def person_for(conn: AsyncConnection, actor: Principal, person_id: int) -> Any:
    """The person row if the actor may see them: tutors only see people on their own rosters."""
    row = await require(conn, people, person_id, actor.org_id, "person")
    if actor.role is Role.TUTOR and not await teaches_person(conn, actor.user_id, person_id):
        raise Forbidden("not_your_person", "This person is not on a roster of a session you teach.")
    return row


def tutor_person_ids(user_id: int | None) -> sa.Select[Any]:
    """People on the rosters of the sessions a tutor teaches (a subquery)."""
    return (sa.select(roster.c.person_id)
            .join(session_tutors, session_tutors.c.session_id == roster.c.session_id)
            .where(session_tutors.c.user_id == user_id))
