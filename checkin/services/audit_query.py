"""Searching the audit log: by person, session, actor, entity, action and time, newest first."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.principal import Principal
from checkin.services.subject_access import plain
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import audit_log

MAX_LIMIT = 500


@dataclass(frozen=True)
class AuditFilter:
    person_id: int | None = None
    session_id: int | None = None
    actor_user_id: int | None = None
    actor: str = ""  # part of the actor's label, any case
    entity: str = ""
    entity_id: str = ""
    action: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def conditions(self, org_id: int) -> list[sa.ColumnElement[bool]]:
        c = audit_log.c
        where: list[sa.ColumnElement[bool]] = [c.org_id == org_id]
        if self.person_id is not None:
            where.append(c.person_id == self.person_id)
        if self.session_id is not None:
            where.append(c.session_id == self.session_id)
        if self.actor_user_id is not None:
            where.append(c.actor_user_id == self.actor_user_id)
        if self.actor:
            pattern = "%" + self.actor.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(sa.func.lower(c.actor).like(pattern, escape="\\"))
        if self.entity:
            where.append(c.entity == self.entity)
        if self.entity_id:
            where.append(c.entity_id == self.entity_id)
        if self.action:
            where.append(c.action == self.action)
        if self.since is not None:
            where.append(c.at >= self.since)
        if self.until is not None:
            where.append(c.at < self.until)
        return where


def entry_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "at": row.at.isoformat(), "actor_user_id": row.actor_user_id, "actor": row.actor,
            "action": row.action, "entity": row.entity, "entity_id": row.entity_id, "person_id": row.person_id,
            "session_id": row.session_id, "before": plain(row.before), "after": plain(row.after), "ip": row.ip}


async def search(conn: AsyncConnection, org_id: int, f: AuditFilter, *, limit: int = 100,
                 offset: int = 0) -> dict[str, Any]:
    """One page of matching entries of the organisation, newest first, with the total count."""
    limit = max(1, min(limit, MAX_LIMIT))
    where = f.conditions(org_id)
    total = (await conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(*where))).scalar_one()
    rows = (await conn.execute(sa.select(audit_log).where(*where)
                               .order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit).offset(offset)))
    return {"entries": [entry_json(r) for r in rows.all()], "total": int(total), "limit": limit, "offset": offset}


async def search_as(ctx: AppContext, actor: Principal, f: AuditFilter, *, limit: int = 100, offset: int = 0,
                    now: datetime) -> dict[str, Any]:
    """A search by a member of staff; the search itself is audited, since entries hold personal data."""
    async with ctx.db.read() as conn:
        page = await search(conn, actor.org_id, f, limit=limit, offset=offset)
    asked = {k: plain(v) for k, v in asdict(f).items() if v not in (None, "")}

    async def work(tx: Tx) -> None:
        await record(tx.conn, now, actor, "view", "audit_log", "", person_id=f.person_id, session_id=f.session_id,
                     after={"filter": asked, "returned": len(page["entries"])})

    await ctx.db.write(work)
    return page
