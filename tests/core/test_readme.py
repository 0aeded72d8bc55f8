"""The README stays in step with the code it documents."""

from __future__ import annotations

from pathlib import Path

from aragora_storage_core.cli import COMMANDS
from aragora_storage_core.settings import ENV_VARS

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_environment_variable_is_in_the_configuration_table() -> None:
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for var in ENV_VARS:
        assert f"`{var.name}`" in table, var.name
        for alias in var.aliases:
            assert f"`{alias}`" in table, alias


def test_every_command_is_documented() -> None:
    for command in COMMANDS:
        assert f"aragora-storage {command}" in README, command


def test_quick_start_has_exactly_two_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert [c.split()[0] for c in commands] == ["./scripts/run-doctor", "./scripts/run-tests"]
    assert "./scripts/run-tests" in (Path(__file__).parents[2] / ".ci" / "run").read_text()
