"""Stored completion states (one per participant, programme and requirement), read and written for many at once.

The watcher re-evaluates the people a burst of marks touched together, so each read and write
here is one statement for the whole set rather than one per person or per requirement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.storage.prepared import Prepared, in_ids
from checkin.storage.tables import completion_states

States = dict[str, str]  # status by stored key
WEEK = ":w"  # in the key of a week's state (completion.week_key): kept as the history of the weeks judged
_STORED = Prepared(lambda dialect: sa.select(
    completion_states.c.person_id, completion_states.c.requirement, completion_states.c.status).where(
    completion_states.c.programme_id == sa.bindparam("programme", type_=sa.Integer()),
    in_ids(completion_states.c.person_id, "people", dialect)))


async def stored_states(conn: AsyncConnection, person_ids: Collection[int], programme_id: int) -> dict[int, States]:
    """Each person's stored states in the programme (people with none are absent)."""
    if not person_ids:
        return {}
    rows = await _STORED.rows(conn, {"programme": programme_id, "people": sorted(person_ids)})
    found: dict[int, States] = defaultdict(dict)
    for r in rows:
        found[r.person_id][r.requirement] = r.status
    return dict(found)


async def forget_states(conn: AsyncConnection, programme_id: int) -> None:
    """Drops all but the judged weeks, as a re-evaluation would for a programme left with no requirements."""
    await conn.execute(sa.delete(completion_states).where(completion_states.c.programme_id == programme_id,
                                                          completion_states.c.requirement.not_like(f"%{WEEK}%")))


_INSERT_STATE = sa.insert(completion_states)


async def save_states(conn: AsyncConnection, programme_id: int, changes: Mapping[int, tuple[States, States]],
                      now: datetime) -> None:
    """Stores (new, previous) states per person: new keys inserted, changed ones updated, dropped ones deleted.

    Requirements no longer in the programme lose their states; week rows (":w") stay, as the
    history of the weeks already judged. Updates go one statement per (key, status) pair, which
    is a handful whatever the number of people, since people mostly share their keys.
    """
    inserts: list[dict[str, object]] = []
    updates: dict[tuple[str, str], list[int]] = defaultdict(list)
    gone: dict[str, list[int]] = defaultdict(list)
    for person_id, (states, previous) in changes.items():
        for key in previous:
            if key not in states and WEEK not in key:
                gone[key].append(person_id)
        for key, status in states.items():
            if key not in previous:
                inserts.append(dict(person_id=person_id, programme_id=programme_id, requirement=key, status=status,
                                    updated_at=now))
            elif previous[key] != status:
                updates[(key, status)].append(person_id)
    of_programme = completion_states.c.programme_id == programme_id
    for key, people in gone.items():
        await conn.execute(sa.delete(completion_states).where(
            of_programme, completion_states.c.requirement == key, completion_states.c.person_id.in_(people)))
    if inserts:
        # executemany of one statement: a multi-row VALUES is compiled anew for every length
        await conn.execute(_INSERT_STATE, inserts)
    for (key, status), people in updates.items():
        await conn.execute(sa.update(completion_states).where(
            of_programme, completion_states.c.requirement == key, completion_states.c.person_id.in_(people))
            .values(status=status, updated_at=now))
