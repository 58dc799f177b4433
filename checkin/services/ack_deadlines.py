"""DSL-ACK: the deadline written beside every new safeguarding alert, so an unacknowledged one climbs the chain."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.rules import Policy, ack_deadline
from checkin.services.deadlines import write_deadline
from checkin.storage.database import Tx
from checkin.storage.tables import alerts


async def schedule_ack(tx: Tx, ctx: AppContext, alert_id: int, org_id: int, person_id: int | None,
                       created_at: datetime, policy: Policy) -> datetime | None:
    """Writes the alert's first DSL-ACK deadline in the caller's transaction; None when the policy has DSL-ACK off.

    Idempotent: the row's key names the alert, so the runner and the alerting service may
    both call this for one alert and one row results.
    """
    spec = ack_deadline(alert_id, person_id, created_at, policy)
    if spec is None:
        return None
    session_id = (await tx.conn.execute(sa.select(alerts.c.session_id).where(alerts.c.id == alert_id))).scalar()
    await write_deadline(tx.conn, org_id, session_id, spec, created_at)
    tx.after_commit(lambda: ctx.wake("watcher"))
    return spec.due_at
