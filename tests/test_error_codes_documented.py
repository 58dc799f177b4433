"""Every error code the API can answer with is listed in the README."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import checkin
from checkin.domain.checkin_decision import Outcome
from checkin.domain.errors import DomainError
from checkin.domain.tokens import TokenCode
from checkin.web.errors import HTTP_CODES

ROOT = Path(__file__).resolve().parent.parent


def _error_classes() -> set[str]:
    for info in pkgutil.walk_packages(checkin.__path__, "checkin."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
    found, todo = set(), [DomainError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo += cls.__subclasses__()
    return found


def raised_codes() -> set[str]:
    classes = "|".join(sorted(_error_classes()))
    pattern = re.compile(rf"\b(?:{classes})\(\s*\"([a-z][a-z0-9_]+)\"")
    codes = set()
    for path in (ROOT / "checkin").rglob("*.py"):
        codes |= set(pattern.findall(path.read_text()))
    refusals = {o.value for o in Outcome} - {"checked_in", "late", "already_checked_in", "checked_out",
                                             "already_checked_out"}
    return (codes | refusals | {c.value for c in TokenCode} | set(HTTP_CODES.values())
            | {"internal_error", "import_invalid"})


def test_every_raised_error_code_is_in_the_readme() -> None:
    section = (ROOT / "README.md").read_text().split("## API error codes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z][a-z0-9_]+)`", section))
    assert sorted(raised_codes() - documented) == []
