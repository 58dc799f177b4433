"""Deleting rows the way the schema says: cascades left to the database, other references cleared first.

The referring tables are read from the metadata, so a table added later is handled without
a change here: a nullable reference is set to NULL, a required one's rows go too, and a
released legal hold naming the row is deleted with it. An active hold is left in place, so
the database's foreign key refuses the delete (the purge and erasure check holds first;
this is the safety net).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.storage.tables import legal_holds, metadata

_DEPTH = 4


def referrers(table: sa.Table) -> list[tuple[sa.Table, sa.Column[Any], str]]:
    """(table, column, ON DELETE action) for every foreign key that points at `table`."""
    found = []
    for other in metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table:
                found.append((other, fk.parent, (fk.ondelete or "NO ACTION").upper()))
    return found


async def delete_rows(conn: AsyncConnection, table: sa.Table, ids: Sequence[Any]) -> int:
    """Deletes the rows of `table` with these ids; returns how many went."""
    if not ids:
        return 0
    await _detach(conn, table, list(ids), 0)
    result = await conn.execute(sa.delete(table).where(table.c.id.in_(list(ids))))
    return int(result.rowcount or 0)


async def _detach(conn: AsyncConnection, table: sa.Table, ids: list[Any] | sa.Select[Any], depth: int) -> None:
    for child, column, action in referrers(table):
        if action == "SET NULL":
            continue
        if action == "CASCADE":
            if depth < _DEPTH and "id" in child.c:
                await _detach(conn, child, sa.select(child.c.id).where(column.in_(ids)), depth + 1)
            continue
        if child is legal_holds:
            await conn.execute(sa.delete(legal_holds).where(column.in_(ids), legal_holds.c.released_at.is_not(None)))
        elif column.nullable:
            await conn.execute(sa.update(child).where(column.in_(ids)).values({column.name: None}))
        elif "id" in child.c and depth < _DEPTH:
            child_ids = list((await conn.execute(sa.select(child.c.id).where(column.in_(ids)))).scalars())
            if child_ids:
                await _detach(conn, child, child_ids, depth + 1)
                await conn.execute(sa.delete(child).where(child.c.id.in_(child_ids)))
        else:
            await conn.execute(sa.delete(child).where(column.in_(ids)))
