"""The README opens with the two commands, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_starts_with_the_install_and_test_commands():
    first, second = _commands()[:2]
    assert "supportctl store init --demo" in first and "supportctl tickets list" in first
    assert second.endswith("pytest")


def test_ci_runs_the_readme_test_command():
    test_command = _commands()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()
