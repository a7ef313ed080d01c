"""The README is the user's first reference: its commands and exit codes must be real."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from harden.cli import COMMANDS, cli
from harden.errors import ExitCode
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_command_is_documented() -> None:
    for name in COMMANDS:
        assert f"harden {name}" in README, name


def test_every_documented_command_exists() -> None:
    used = set(re.findall(r"^\s*harden ([a-z][a-z-]+)", README, flags=re.M))
    assert used, "the README shows no harden command"
    assert used <= set(COMMANDS), used - set(COMMANDS)


def test_every_exit_code_is_documented() -> None:
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", README, flags=re.M), code


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_quick_start_is_two_make_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^\s+(make \w+)", quick, flags=re.M)
    assert commands == ["make demo", "make test"]
