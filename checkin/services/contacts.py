"""A person's contacts: attendance, emergency, employer and line manager.

Emergency contacts are for staff who may have to act on them: admins, programme managers,
DSLs, the events team, and the tutors of the person's own sessions. Every time they are
shown, the audit log says who saw them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.errors import Invalid, NotFound
from checkin.domain.model import Channel, ContactKind
from checkin.domain.principal import Principal
from checkin.services.ownership import person_for, require
from checkin.services.records import changed, record_of
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import contacts, people

STORED = ("kind", "name", "relationship", "phone", "email", "organisation", "preferred_channel", "priority")
COLUMNS = ("id", "person_id", *STORED, "created_at")


async def list_contacts(ctx: AppContext, actor: Principal, person_id: int, now: datetime) -> list[dict[str, Any]]:
    """The person's contacts by priority; showing emergency contacts is audited before they are returned."""
    async with ctx.db.read() as conn:
        await person_for(conn, actor, person_id)
        rows = (await conn.execute(sa.select(contacts).where(contacts.c.person_id == person_id)
                                   .order_by(contacts.c.kind, contacts.c.priority, contacts.c.id))).all()
    found = [record_of(r, COLUMNS) for r in rows]
    shown = [c["id"] for c in found if c["kind"] == ContactKind.EMERGENCY.value]
    if shown:
        async def audit(tx: Tx) -> None:
            await record(tx.conn, now, actor, "view", "emergency_contacts", person_id, person_id=person_id,
                         after={"contact_ids": shown})

        await ctx.db.write(audit)
    return found


async def create_contact(ctx: AppContext, actor: Principal, person_id: int, data: dict[str, Any],
                         now: datetime) -> dict[str, Any]:
    values = {k: _plain(data.get(k)) for k in STORED}
    values = {k: v for k, v in values.items() if v is not None}
    values.setdefault("preferred_channel", Channel.EMAIL.value if values.get("email") else Channel.PHONE.value)
    values = {"relationship": "", "phone": "", "email": "", "organisation": "", "priority": 0} | values
    _check_reachable(values)

    async def work(tx: Tx) -> dict[str, Any]:
        await require(tx.conn, people, person_id, actor.org_id, "person")
        contact_id = (await tx.conn.execute(sa.insert(contacts).values(
            person_id=person_id, created_at=now, **values).returning(contacts.c.id))).scalar_one()
        await record(tx.conn, now, actor, "create", "contact", contact_id, person_id=person_id, after=values)
        return await _fresh(tx.conn, contact_id)

    return await ctx.db.write(work)


async def update_contact(ctx: AppContext, actor: Principal, contact_id: int, changes: dict[str, Any],
                         now: datetime) -> dict[str, Any]:
    async def work(tx: Tx) -> dict[str, Any]:
        row = await _contact(tx.conn, actor, contact_id)
        before = record_of(row, STORED)
        diff = changed(before, {k: _plain(v) for k, v in changes.items() if k in STORED})
        if diff.keys() & {"phone", "email", "preferred_channel"}:
            _check_reachable(before | diff)
        if diff:
            await tx.conn.execute(sa.update(contacts).where(contacts.c.id == contact_id).values(**diff))
            await record(tx.conn, now, actor, "update", "contact", contact_id, person_id=row.person_id,
                         before={k: before[k] for k in diff}, after=diff)
        return await _fresh(tx.conn, contact_id)

    return await ctx.db.write(work)


async def delete_contact(ctx: AppContext, actor: Principal, contact_id: int, now: datetime) -> dict[str, Any]:
    async def work(tx: Tx) -> dict[str, Any]:
        row = await _contact(tx.conn, actor, contact_id)
        await tx.conn.execute(sa.delete(contacts).where(contacts.c.id == contact_id))
        await record(tx.conn, now, actor, "delete", "contact", contact_id, person_id=row.person_id,
                     before=record_of(row, STORED))
        return {"id": contact_id, "deleted": True}

    return await ctx.db.write(work)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, ContactKind | Channel) else value


def _check_reachable(values: dict[str, Any]) -> None:
    if not values.get("phone") and not values.get("email"):
        raise Invalid("contact_unreachable", "Give a phone number or an e-mail address.", "phone")
    channel = values["preferred_channel"]
    if channel == Channel.EMAIL.value and not values.get("email"):
        raise Invalid("missing_email", "E-mail is the preferred channel, so an e-mail address is needed.", "email")
    if channel == Channel.PHONE.value and not values.get("phone"):
        raise Invalid("missing_phone", "Phone is the preferred channel, so a phone number is needed.", "phone")


async def _contact(conn: AsyncConnection, actor: Principal, contact_id: int) -> Any:
    row = (await conn.execute(sa.select(contacts).join(people, people.c.id == contacts.c.person_id).where(
        contacts.c.id == contact_id, people.c.org_id == actor.org_id, people.c.deleted_at.is_(None)))).first()
    if row is None:
        raise NotFound("not_found", f"There is no contact {contact_id}.")
    return row


async def _fresh(conn: AsyncConnection, contact_id: int) -> dict[str, Any]:
    return record_of((await conn.execute(sa.select(contacts).where(contacts.c.id == contact_id))).one(), COLUMNS)
