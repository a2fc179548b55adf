"""README.md is the contract: the quick start's two commands, every variable, every command."""
from __future__ import annotations

import re
from pathlib import Path

from webapp.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def test_quick_start_is_two_commands_with_no_server_to_install():
    quick = section("Quick start")
    block = re.search(r"```sh\n(.*?)```", quick, re.S).group(1).strip().splitlines()
    assert block == ["pip install -e .", "docspasta serve"]
    assert (ROOT / "docs" / "screenshot.png").is_file() and "(docs/screenshot.png)" in README


def test_every_environment_variable_the_settings_read_is_documented():
    source = (ROOT / "webapp" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"((?:DOCSPASTA_|DATABASE_|REDIS_|CRON_)[A-Z_]+)"', source))
    assert {"DATABASE_URL", "REDIS_URL", "DOCSPASTA_DATA_DIR", "DOCSPASTA_METRICS_TOKEN"} <= names
    table = section("Configuration")
    undocumented = sorted(name for name in names if f"| `{name}` |" not in table)
    assert not undocumented, f"add these to README.md, Configuration: {undocumented}"


def test_every_command_is_in_the_readme():
    commands = build_parser()._subparsers._group_actions[0].choices
    table = section("The `docspasta` command")
    assert not [name for name in commands if f"`docspasta {name}" not in table]


def test_the_test_command_is_the_one_ci_runs():
    assert "python -m pytest" in section("Tests")
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()
