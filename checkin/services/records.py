"""Database rows as JSON records: datetimes and dates become ISO 8601 strings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record_of(row: Any, names: Iterable[str]) -> dict[str, Any]:
    """The named columns of `row` (a Row or mapping) with JSON-ready values."""
    mapping: Mapping[str, Any] = row if isinstance(row, Mapping) else row._mapping
    return {name: jsonable(mapping[name]) for name in names}


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of `after` whose value differs from `before` (for audit and re-planning)."""
    return {k: v for k, v in after.items() if before.get(k) != v}
