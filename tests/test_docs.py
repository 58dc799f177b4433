"""The README and CI stay in step with the code."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from checkin.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"^\| `CHECKIN_([A-Z_]+)` \|", README, re.M))
    assert documented == {f.name.upper() for f in fields(Settings)}


def test_ci_runs_the_readme_test_command() -> None:
    test_line = next(line for line in README.splitlines() if "# test" in line)
    command = test_line.split("#")[0].strip()
    assert command in (ROOT / ".ci" / "run").read_text()


def test_the_readme_starts_with_the_run_and_test_commands() -> None:
    block = README.split("```")[1]
    assert "python run.py --demo" in block and "pytest" in block
