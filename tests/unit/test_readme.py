"""The README is the user's first reference: its commands and exit codes must be real."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden.cli import COMMANDS, cli
from harden.errors import ExitCode
from tests.conftest import DATA, ROOT, run_harden

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


def test_the_policy_example_works_verbatim_before_and_after_its_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = README.index("**Policy** (YAML")
    body = README[README.index("```yaml\n", start) + 8 : README.index("```\n", start + 20)]
    (tmp_path / "policy.yaml").write_text(body)
    shutil.copytree(DATA / "gate" / "corpus" / "k8s", tmp_path / "k8s")
    shutil.copy(DATA / "gate" / "corpus" / "compose" / "compose.yaml", tmp_path)
    monkeypatch.chdir(tmp_path)
    first = run_harden("gate", "k8s/", "compose.yaml", "--policy", "policy.yaml")
    assert first.code == ExitCode.FAILED, first.stderr  # judged: the baseline is not there yet
    assert "baseline .harden-baseline.json does not exist yet" in first.stderr
    wrote = run_harden(
        "gate", "k8s/", "compose.yaml", "--policy", "policy.yaml",
        "--write-baseline", ".harden-baseline.json",
    )  # fmt: skip
    assert wrote.code == ExitCode.OK, wrote.stderr
    assert "wrote .harden-baseline.json: " in wrote.stderr
    again = run_harden("gate", "k8s/", "compose.yaml", "--policy", "policy.yaml")
    assert again.code == ExitCode.OK  # every current failure is in the baseline


def test_the_userns_example_works_with_the_pool_it_describes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = next(ln for ln in README.splitlines() if "harden userns plan --tenants 50" in ln)
    pool = re.search(r"pool\.subuid: one line, (\S+)\)", README)
    assert pool is not None
    (tmp_path / "pool.subuid").write_text(pool[1] + "\n")
    monkeypatch.chdir(tmp_path)
    args = line.split("#")[0].split()[1:]
    result = run_harden(*args)
    assert result.code == ExitCode.OK, result.stderr
    assert "50 tenants" in result.stderr + result.stdout
    empty = tmp_path / "empty"
    empty.write_text("")
    hint = run_harden("userns", "plan", "--tenants", "2", "--from", str(empty)).stderr
    assert "echo harden:1000000:10000000 > pool.subuid" in hint
