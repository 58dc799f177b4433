"""Direct inserts for test set-up, so tests of one feature need not drive another's API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from checkin.context import AppContext
from checkin.storage.database import Tx
from checkin.storage.tables import contacts, people, programmes, roster, session_tutors, sessions


async def _insert(ctx: AppContext, table: sa.Table, **values: Any) -> int:
    async def work(tx: Tx) -> int:
        return int((await tx.conn.execute(sa.insert(table).values(**values).returning(table.c.id))).scalar_one())

    return await ctx.db.write(work)


async def programme(ctx: AppContext, name: str = "AP Tuition", code_set: str = "dfe_2024", preset: str = "ap_tuition",
                    policy: dict[str, Any] | None = None, **extra: Any) -> int:
    now = ctx.clock()
    values = dict(org_id=ctx.extras["org_id"], name=name, code_set=code_set, preset=preset, policy=policy or {},
                  requirements=[], reasons=[{"reason": "Illness", "accepted": True},
                                            {"reason": "Usual school duties", "accepted": False}],
                  weekly_report_to=[], created_at=now, updated_at=now)
    values.update(extra)
    return await _insert(ctx, programmes, **values)


async def person(ctx: AppContext, first: str = "Ava", last: str = "Example", **extra: Any) -> int:
    values = dict(org_id=ctx.extras["org_id"], first_name=first, last_name=last,
                  email=f"{first}.{last}@example.org".lower(), created_at=ctx.clock())
    values.update(extra)
    return await _insert(ctx, people, **values)


async def contact(ctx: AppContext, person_id: int, kind: str, name: str, **extra: Any) -> int:
    return await _insert(ctx, contacts, person_id=person_id, kind=kind, name=name, created_at=ctx.clock(), **extra)


async def session(ctx: AppContext, programme_id: int, starts_at: datetime, minutes: int = 60,
                  tutor_ids: tuple[int, ...] = (), person_ids: tuple[int, ...] = (), **extra: Any) -> int:
    now = ctx.clock()
    values = dict(org_id=ctx.extras["org_id"], programme_id=programme_id, title="Maths 1:1", kind="ap_tuition",
                  mode="face_to_face", starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
                  created_at=now, updated_at=now)
    values.update(extra)
    session_id = await _insert(ctx, sessions, **values)

    async def link(tx: Tx) -> None:
        for uid in tutor_ids:
            await tx.conn.execute(sa.insert(session_tutors).values(session_id=session_id, user_id=uid))
        for pid in person_ids:
            await tx.conn.execute(sa.insert(roster).values(session_id=session_id, person_id=pid, added_at=now))

    await ctx.db.write(link)
    return session_id
