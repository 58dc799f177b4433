"""The organisation: its zone, local-authority AP address, safeguarding chain and holidays."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from checkin.domain.errors import NotFound
from checkin.domain.principal import Principal
from checkin.storage.audit import record
from checkin.storage.database import Database, Tx
from checkin.storage.tables import organisations


async def ensure_org(db: Database, name: str, timezone: str, now: datetime) -> int:
    """The first organisation's id, creating it on a new database."""
    async with db.read() as conn:
        org_id = (await conn.execute(sa.select(organisations.c.id).order_by(organisations.c.id).limit(1))).scalar()
    if org_id is not None:
        return int(org_id)

    async def work(tx: Tx) -> int:
        new_id = (await tx.conn.execute(sa.insert(organisations).values(
            name=name, timezone=timezone, safeguarding_chain=[], bank_holidays=[], created_at=now,
        ).returning(organisations.c.id))).scalar_one()
        return int(new_id)

    return await db.write(work)


async def get_org(db: Database, org_id: int) -> dict[str, Any]:
    async with db.read() as conn:
        row = (await conn.execute(sa.select(organisations).where(organisations.c.id == org_id))).first()
    if row is None:
        raise NotFound("not_found", "No such organisation.")
    return dict(row._mapping) | {"created_at": row.created_at.isoformat()}


async def update_org(db: Database, actor: Principal, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    async def work(tx: Tx) -> None:
        before = (await tx.conn.execute(sa.select(organisations).where(organisations.c.id == actor.org_id))).first()
        assert before is not None
        clean = {k: ([d.isoformat() for d in v] if k == "bank_holidays" else v) for k, v in changes.items()}
        await tx.conn.execute(sa.update(organisations).where(organisations.c.id == actor.org_id).values(**clean))
        await record(tx.conn, now, actor, "update", "organisation", actor.org_id,
                     before={k: _jsonable(before._mapping[k]) for k in clean}, after=clean)

    await db.write(work)
    return await get_org(db, actor.org_id)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
