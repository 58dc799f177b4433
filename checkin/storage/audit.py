"""The append-only audit log: the app only ever inserts here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.domain.principal import Principal
from checkin.storage.prepared import Prepared
from checkin.storage.tables import audit_log

_INSERT = Prepared(sa.insert(audit_log))  # every change writes one row (prepared.py says why)


async def record(conn: AsyncConnection, now: datetime, actor: Principal | None, action: str, entity: str,
                 entity_id: object, *, org_id: int | None = None, before: Any = None, after: Any = None,
                 person_id: int | None = None, session_id: int | None = None, actor_label: str = "",
                 ip: str = "") -> None:
    await _INSERT.run(conn, dict(
        org_id=org_id if org_id is not None else (actor.org_id if actor else None),
        at=now, actor_user_id=actor.user_id if actor else None,
        actor=actor_label or (actor.label if actor else "system"), action=action, entity=entity,
        entity_id=str(entity_id) if entity_id is not None else "", person_id=person_id, session_id=session_id,
        before=before, after=after, ip=ip,
    ))
