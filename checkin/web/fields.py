"""Request schemas: one declaration both validates input and describes it in OpenAPI."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from checkin.domain.errors import Invalid

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Field:
    """Base of every field: `parse` returns the clean value or raises Invalid with the path."""

    nullable: bool = False
    default: Any = None
    required: bool = True
    description: str = ""

    def parse(self, value: Any, path: str) -> Any:
        raise NotImplementedError  # pragma: no cover - every subclass overrides

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover

    def openapi(self) -> dict[str, Any]:
        s = self.schema()
        if self.nullable:
            s = {"anyOf": [s, {"type": "null"}]}
        if self.description:
            s["description"] = self.description
        return s


def _bad(path: str, message: str, code: str = "invalid_field") -> Invalid:
    return Invalid(code, message, field=path or None)


@dataclass
class Str(Field):
    max_len: int = 200
    min_len: int = 0
    required: bool = True
    default: Any = ""
    nullable: bool = False
    email: bool = False
    pattern: str | None = None
    description: str = ""

    def parse(self, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise _bad(path, f"{path} must be a string")
        value = value.strip()
        if len(value) > self.max_len:
            raise _bad(path, f"{path} is longer than {self.max_len} characters", "too_long")
        if len(value) < self.min_len:
            raise _bad(path, f"{path} is required" if self.min_len == 1 else f"{path} is too short", "required")
        if "\x00" in value:
            raise _bad(path, f"{path} contains a NUL character")
        if self.email and value and not _EMAIL.match(value):
            raise _bad(path, f"{path} is not an e-mail address", "invalid_email")
        if self.pattern and value and not re.fullmatch(self.pattern, value):
            raise _bad(path, f"{path} has the wrong format")
        return value

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "string", "maxLength": self.max_len}
        if self.min_len:
            s["minLength"] = self.min_len
        if self.email:
            s["format"] = "email"
        return s


@dataclass
class Int(Field):
    minimum: int | None = None
    maximum: int | None = 2**31 - 1
    required: bool = True
    default: Any = None
    nullable: bool = False
    description: str = ""

    def parse(self, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(path, f"{path} must be a whole number")
        if self.minimum is not None and value < self.minimum:
            raise _bad(path, f"{path} must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise _bad(path, f"{path} must be at most {self.maximum}")
        return value

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            s["minimum"] = self.minimum
        if self.maximum is not None:
            s["maximum"] = self.maximum
        return s


@dataclass
class Bool(Field):
    required: bool = True
    default: Any = None
    nullable: bool = False
    description: str = ""

    def parse(self, value: Any, path: str) -> Any:
        if not isinstance(value, bool):
            raise _bad(path, f"{path} must be true or false")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass
class Choice(Field):
    choices: type[enum.Enum] | tuple[str, ...] = ()
    required: bool = True
    default: Any = None
    nullable: bool = False
    description: str = ""

    def values(self) -> list[str]:
        if isinstance(self.choices, tuple):
            return list(self.choices)
        return [m.value for m in self.choices]

    def parse(self, value: Any, path: str) -> Any:
        if not isinstance(value, str) or value not in self.values():
            raise _bad(path, f"{path} must be one of: {', '.join(self.values())}", "invalid_choice")
        return value if isinstance(self.choices, tuple) else self.choices(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": self.values()}


@dataclass
class When(Field):
    """An ISO 8601 date-time with an offset (naive times are ambiguous, so refused)."""

    required: bool = True
    default: Any = None
    nullable: bool = False
    description: str = ""

    def parse(self, value: Any, path: str) -> Any:
        if not isinstance(value, str) or len(value) > 40:
            raise _bad(path, f"{path} must be an ISO 8601 date-time")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _bad(path, f"{path} must be an ISO 8601 date-time") from exc
        if parsed.tzinfo is None:
            raise _bad(path, f"{path} needs a UTC offset, e.g. 2026-03-02T09:00:00+00:00")
        if not 1900 <= parsed.year <= 2200:
            raise _bad(path, f"{path} is out of range")
        return parsed

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


@dataclass
class Day(Field):
    required: bool = True
    default: Any = None
    nullable: bool = False
    description: str = ""

    def parse(self, value: Any, path: str) -> Any:
        try:
            parsed = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None or not 1900 <= parsed.year <= 2200:
            raise _bad(path, f"{path} must be a date like 2026-03-02")
        return parsed

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


@dataclass
class ClockTime(Field):
    required: bool = True
    default: Any = None
    nullable: bool = False
    description: str = ""

    def parse(self, value: Any, path: str) -> Any:
        try:
            return time.fromisoformat(value) if isinstance(value, str) and len(value) <= 8 else _fail()
        except ValueError as exc:
            raise _bad(path, f"{path} must be a time like 09:30") from exc

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}


def _fail() -> Any:
    raise ValueError("bad")


@dataclass
class ListOf(Field):
    item: Field = field(default_factory=lambda: Int())
    max_items: int = 1000
    required: bool = True
    default: Any = None
    nullable: bool = False
    description: str = ""

    def parse(self, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise _bad(path, f"{path} must be a list")
        if len(value) > self.max_items:
            raise _bad(path, f"{path} has more than {self.max_items} items", "too_long")
        return [self.item.parse(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.openapi(), "maxItems": self.max_items}


@dataclass
class AnyJson(Field):
    """Free-form JSON object checked by the domain (policies, requirements)."""

    required: bool = True
    default: Any = None
    nullable: bool = False
    kind: str = "object"
    description: str = ""

    def parse(self, value: Any, path: str) -> Any:
        expected = dict if self.kind == "object" else list
        if not isinstance(value, expected):
            raise _bad(path, f"{path} must be a JSON {self.kind}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": self.kind}


@dataclass
class Obj(Field):
    fields: dict[str, Field] = field(default_factory=dict)
    required: bool = True
    default: Any = None
    nullable: bool = False
    description: str = ""

    def parse(self, value: Any, path: str = "", partial: bool = False) -> dict[str, Any]:
        """Checks every field; `partial` (PATCH) parses only the fields given."""
        if not isinstance(value, dict):
            raise _bad(path, f"{path or 'the body'} must be a JSON object")
        unknown = set(value) - set(self.fields)
        if unknown:
            name = sorted(unknown)[0]
            raise _bad(_join(path, name), f"unknown field {name!r}", "unknown_field")
        out: dict[str, Any] = {}
        for name, f in self.fields.items():
            sub = _join(path, name)
            if name not in value:
                if partial:
                    continue
                if f.required:
                    raise _bad(sub, f"{sub} is required", "required")
                out[name] = f.default
                continue
            raw = value[name]
            if raw is None:
                if not f.nullable:
                    raise _bad(sub, f"{sub} may not be null")
                out[name] = None
                continue
            out[name] = f.parse(raw, sub)
        return out

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {k: f.openapi() for k, f in self.fields.items()},
            "required": [k for k, f in self.fields.items() if f.required],
            "additionalProperties": False,
        }


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
