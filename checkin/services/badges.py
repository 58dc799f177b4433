"""Personal badges a tutor scans or types at the door, and the personal code printed on an invitation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Invalid, NotFound
from checkin.domain.model import MarkSource
from checkin.domain.principal import Principal
from checkin.domain.tokens import (
    PURPOSE_BADGE,
    PURPOSE_PERSONAL,
    TokenRejection,
    badge_code,
    derive_key,
    parse_badge,
    personal_code,
)
from checkin.services.checkin import CheckinRefused, Scanner, ScanResult, check_in, record_attempt
from checkin.services.ownership import person_for, session_for
from checkin.services.scan_codes import load_session
from checkin.storage.tables import people


@dataclass(frozen=True)
class Badge:
    person_id: int
    name: str
    code: str

    def to_json(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "name": self.name, "code": self.code}


def badge_key(ctx: AppContext) -> bytes:
    return derive_key(ctx.secret, PURPOSE_BADGE)


async def badge_of(ctx: AppContext, actor: Principal, person_id: int) -> Badge:
    """A person's badge code, for staff who may see the person."""
    async with ctx.db.read() as conn:
        row = await person_for(conn, actor, person_id)
    return Badge(row.id, f"{row.first_name} {row.last_name}".strip(), badge_code(badge_key(ctx), row.id))


async def personal_code_of(ctx: AppContext, actor: Principal, person_id: int) -> dict[str, Any]:
    """The code for a person's invitation, which they type on their phone to confirm who they are."""
    async with ctx.db.read() as conn:
        row = await person_for(conn, actor, person_id)
    return {"person_id": row.id, "code": personal_code(derive_key(ctx.secret, PURPOSE_PERSONAL), row.id)}


async def check_in_badge(ctx: AppContext, actor: Principal, session_id: int, text: str, ip: str,
                         now: datetime) -> dict[str, Any]:
    """Checks in the badge's holder at a tutor's tablet; staff see the name, in the result and in a refusal."""
    async with ctx.db.read() as conn:
        await session_for(conn, actor, session_id)
        facts = await load_session(conn, session_id, ctx.settings.timezone)
    if facts is None:
        raise NotFound("not_found", f"There is no session {session_id}.")
    device = f"badge:{actor.user_id or 0}"
    person_id = parse_badge(badge_key(ctx), text)
    if isinstance(person_id, TokenRejection):
        await record_attempt(ctx, session_id=session_id, outcome=person_id.code.value, device=device, ip=ip, now=now)
        raise Invalid("badge_invalid", "This badge code is not recognised — check it and try again.", "code")
    async with ctx.db.read() as conn:
        person = (await conn.execute(sa.select(people.c.first_name, people.c.last_name).where(
            people.c.id == person_id, people.c.org_id == actor.org_id, people.c.deleted_at.is_(None)))).first()
    if person is None:
        # a genuine badge of another organisation's person: as if not on the roster, naming nobody
        await record_attempt(ctx, session_id=session_id, outcome="not_on_roster", device=device, ip=ip, now=now)
        raise CheckinRefused("not_on_roster", "This person is not on the list for this session.", status=403)
    name = f"{person.first_name} {person.last_name}".strip()
    try:
        result: ScanResult = await check_in(ctx, facts, person_id, "in", Scanner(device, ip), now,
                                            source=MarkSource.BADGE, actor=actor)
    except CheckinRefused as refused:
        refused.details.update(person_id=person_id, name=name)
        raise
    return {"outcome": result.outcome.value, "message": result.message, "person_id": person_id, "name": name,
            "at": result.at.isoformat(), "first_at": result.first_at.isoformat() if result.first_at else None,
            "minutes_late": result.minutes_late}
