"""Changing the organisation's settings: zone, AP addresses, safeguarding chain, bank holidays."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Invalid
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.services.orgs import get_org
from checkin.services.records import changed, jsonable
from checkin.storage.audit import record
from checkin.storage.database import Tx
from checkin.storage.tables import organisations, users

EDITABLE = ("name", "timezone", "la_ap_address", "ap_office_email", "safeguarding_chain", "bank_holidays")


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid("unknown_timezone", f"{name!r} is not a time zone name such as Europe/London.",
                      "timezone") from exc
    return name


async def update_org(ctx: AppContext, actor: Principal, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Applies `changes` (already schema-checked) in one unit; returns the organisation as JSON.

    The safeguarding chain is who DSL-ACK escalates to in order, so it must start with a DSL
    and hold only active staff of this organisation, each once.
    """
    clean = dict(changes)
    if "timezone" in clean:
        check_timezone(clean["timezone"])
    if "bank_holidays" in clean:
        clean["bank_holidays"] = [d.isoformat() for d in sorted(set(clean["bank_holidays"]))]

    async def work(tx: Tx) -> None:
        if "safeguarding_chain" in clean:
            await _check_chain(tx, actor.org_id, clean["safeguarding_chain"])
        before = (await tx.conn.execute(sa.select(organisations).where(organisations.c.id == actor.org_id))).one()
        old = {k: jsonable(before._mapping[k]) for k in clean}
        diff = changed(old, clean)
        if not diff:
            return
        await tx.conn.execute(sa.update(organisations).where(organisations.c.id == actor.org_id).values(**diff))
        await record(tx.conn, now, actor, "update", "organisation", actor.org_id,
                     before={k: old[k] for k in diff}, after=diff)

    await ctx.db.write(work)
    return await get_org(ctx.db, actor.org_id)


async def _check_chain(tx: Tx, org_id: int, chain: list[int]) -> None:
    if len(set(chain)) != len(chain):
        raise Invalid("duplicate_id", "Each person may appear in the safeguarding chain once.", "safeguarding_chain")
    rows = {r.id: r for r in (await tx.conn.execute(
        sa.select(users.c.id, users.c.role, users.c.active)
        .where(users.c.id.in_(chain), users.c.org_id == org_id))).all()}
    for i, user_id in enumerate(chain):
        row = rows.get(user_id)
        if row is None or not row.active:
            raise Invalid("invalid_field", f"There is no active staff member {user_id}.", f"safeguarding_chain[{i}]")
    if chain and rows[chain[0]].role != Role.DSL.value:
        raise Invalid("chain_must_start_with_dsl", "The safeguarding chain starts with the DSL.",
                      "safeguarding_chain[0]")
