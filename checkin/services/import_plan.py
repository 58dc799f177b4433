"""What one import file will do: per row, a record to create, one to update, or nothing to change."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from checkin.context import AppContext
from checkin.domain.csvfile import RowProblem
from checkin.domain.principal import Principal
from checkin.storage.database import Tx
from checkin.storage.tables import audit_log


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the audit log's JSON holds them (dates and times as ISO strings)."""
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in values.items()}


def changes(existing: Any, wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The wanted values that differ from the existing row's."""
    return {k: v for k, v in wanted.items() if getattr(existing, k) != v}


@dataclass
class RowOutcome:
    """One file row's effect, decided before anything is written."""

    row: int
    created: bool = False
    updated: bool = False


@dataclass
class KindPlan(ABC):
    """A resolved file of one kind: the problems found, or the writes to make."""

    problems: list[RowProblem] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for o in self.outcomes if o.created)

    @property
    def updated(self) -> int:
        return sum(1 for o in self.outcomes if o.updated)

    @property
    def unchanged(self) -> int:
        return sum(1 for o in self.outcomes if not (o.created or o.updated))

    def problem(self, row: int, column: str, code: str, message: str) -> None:
        self.problems.append(RowProblem(row, column, code, message))

    @abstractmethod
    async def write(self, tx: Tx, ctx: AppContext, actor: Principal, now: datetime) -> None:
        """Makes every planned change inside the caller's transaction."""


def audit_row(now: datetime, actor: Principal, action: str, entity: str, entity_id: object, *,
              before: Any = None, after: Any = None, person_id: int | None = None,
              session_id: int | None = None) -> dict[str, Any]:
    """One audit_log row as `checkin.storage.audit.record` writes it, for inserting many at once."""
    return {"org_id": actor.org_id, "at": now, "actor_user_id": actor.user_id, "actor": actor.label,
            "action": action, "entity": entity, "entity_id": str(entity_id), "person_id": person_id,
            "session_id": session_id, "before": before, "after": after, "ip": ""}


async def insert_many(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts `rows` in as few statements as the driver allows; their new ids, in order."""
    if not rows:
        return []
    result = await conn.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(row_id) for row_id in result.scalars()]


async def audit_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(sa.insert(audit_log), rows)
