"""The README's WebSocket and code-set sections stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from checkin.domain.codes import CODE_SETS
from checkin.web.register_socket import MESSAGE_TYPES

README = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_websocket_message_type_is_in_the_readme_table() -> None:
    documented = re.findall(r"^\| `([a-z_]+)` \|", _section("WebSocket message types"), re.M)
    assert documented == list(MESSAGE_TYPES)


def test_every_code_of_every_code_set_is_in_the_readme_with_its_category() -> None:
    section = _section("Attendance code sets")
    for name, codes in CODE_SETS.items():
        table = section.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        rows = re.findall(r"^\| `([^`]+)` \| [^|]+ \| [^|]+ \| ([a-z_]+) \| ([a-z_]+) \|$", table, re.M)
        assert rows == [(c.code, c.category.value, c.status.value) for c in codes.codes]
