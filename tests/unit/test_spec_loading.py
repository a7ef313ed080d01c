"""Workload specs: every shipped example loads; every bad spec gets its exact diagnosis."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden.cli import cli
from harden.errors import ExitCode, FileProblems
from harden.profile.loader import load_spec, parse_spec
from tests.conftest import DATA, Golden

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "profiles" / "workloads").glob("*.yaml"))
BAD = sorted((DATA / "specs" / "bad").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_shipped_examples_load(path: Path) -> None:
    loaded = load_spec(path)
    assert loaded.spec.name == path.stem


def test_at_least_three_examples_ship() -> None:
    assert {p.stem for p in EXAMPLES} >= {"web", "db", "batch"}


def test_every_field_spec_loads_with_normalised_capabilities() -> None:
    loaded = load_spec(DATA / "specs" / "good" / "every-field.yaml")
    assert loaded.spec.capability_names == ("NET_BIND_SERVICE", "NET_RAW")
    assert loaded.spec.resources.memory == 512 * 1024 * 1024


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_spec_diagnosis(path: Path, golden: Golden, monkeypatch: pytest.MonkeyPatch) -> None:
    """`harden spec check` names file, line and field, exits 2 and never shows a traceback."""
    monkeypatch.chdir(path.parent)
    result = CliRunner().invoke(cli, ["spec", "check", path.name])
    assert result.exit_code == ExitCode.INPUT, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ")
    golden(f"specs/{path.stem}.txt", result.output)


def test_capability_typo_suggests_the_closest_name() -> None:
    with pytest.raises(FileProblems) as info:
        parse_spec("name: x\ncapabilities:\n  - {name: SYS_PTRAC, reason: debugging}\n")
    assert "did you mean SYS_PTRACE?" in info.value.diagnostics()


@pytest.mark.parametrize("name", ["PERFMON", "BPF", "CHECKPOINT_RESTORE", "cap_perfmon"])
def test_newest_kernel_capabilities_are_known(name: str) -> None:
    spec = parse_spec(f"name: x\ncapabilities:\n  - {{name: {name}, reason: tracing tools}}\n")
    assert spec.spec.capability_names == (name.upper().removeprefix("CAP_"),)


def test_a_100_megabyte_spec_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    with pytest.raises(Exception, match="limit is 1048576 bytes"):
        load_spec(big)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["spec", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == ExitCode.INPUT
    assert "no such file" in result.output


def test_unreadable_spec_is_an_input_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\n")
    spec.chmod(0)
    result = CliRunner().invoke(cli, ["spec", "check", str(spec)])
    assert result.exit_code == ExitCode.INPUT
    assert "permission denied" in result.output
