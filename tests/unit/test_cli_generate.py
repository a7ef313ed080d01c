"""`harden generate` as a user runs it: exit codes, output, and nothing half-written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden.cli import cli
from harden.errors import ExitCode
from harden.layers.seccomp.model import Action, Decision
from harden.layers.seccomp.simulate import Mismatch, SimulationReport
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "profiles" / "workloads" / "web.yaml"


def _generate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["generate", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_generate_writes_a_checked_bundle(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    code, output = _generate(str(WEB), "-o", str(out))
    assert code == 0, output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["workload"] == "web"
    assert set(manifest["files"]) == {p.name for p in out.iterdir()} - {"manifest.json"}
    assert (out / "seccomp.x86_64.bpf").stat().st_size % 8 == 0
    assert "calls simulated against the compiled BPF, all agree" in output
    assert manifest["seccomp"]["allowed_syscalls"]["x86_64"] < 150


def test_regenerating_is_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert _generate(str(WEB), "-o", str(first))[0] == 0
    assert _generate(str(WEB), "-o", str(second))[0] == 0
    assert _generate(str(WEB), "-o", str(second))[0] == 0  # replacing an existing bundle
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_bad_spec_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    code, output = _generate(str(DATA / "specs" / "bad" / "capability-typo.yaml"), "-o", str(out))
    assert code == ExitCode.INPUT
    assert "did you mean NET_BIND_SERVICE?" in output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_output_symlink_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    code, output = _generate(str(WEB), "-o", str(link))
    assert code == ExitCode.INPUT
    assert "symbolic link" in output
    assert list(real.iterdir()) == []


def test_a_foreign_directory_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, output = _generate(str(WEB), "-o", str(out))
    assert code == ExitCode.INPUT
    assert "not a harden bundle" in output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_unwritable_output_location_is_an_input_error(tmp_path: Path) -> None:
    code, output = _generate(str(WEB), "-o", "/proc/harden-bundle")
    assert code == ExitCode.INPUT
    assert "/proc/harden-bundle" in output
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, output = _generate(str(WEB), "-o", str(locked / "b"))
        assert code == ExitCode.INPUT
        assert "permission denied" in output


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    code, output = _generate(str(WEB), "-o", str(tmp_path / "no" / "such" / "dir"))
    assert code == 0, output
    assert (tmp_path / "no" / "such" / "dir" / "manifest.json").is_file()


def test_a_file_where_the_parent_should_be_is_reported(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    code, output = _generate(str(WEB), "-o", str(tmp_path / "file" / "dir"))
    assert code == ExitCode.INPUT
    assert "file" in output


def test_a_simulation_mismatch_fails_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harden.layers.seccomp.check as check_mod

    def broken(profile: object, compiled: object, caps: object) -> SimulationReport:
        bad = Mismatch(
            "x86_64", 101, "ptrace", (), Decision(Action.ERRNO, 1), Decision(Action.ALLOW)
        )
        return SimulationReport(compiled.group.native, 1, 1, (bad,), ())  # type: ignore[attr-defined]

    monkeypatch.setattr(check_mod, "simulate", broken)
    out = tmp_path / "bundle"
    code, output = _generate(str(WEB), "-o", str(out))
    assert code == ExitCode.FAILED
    assert "ptrace() [nr 101]: profile says ERRNO(1), compiled filter does ALLOW" in output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_help_and_version() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).output.startswith("harden, version ")
    help_text = runner.invoke(cli, ["--help"]).output
    for command in ("generate", "run", "diff", "explain"):
        assert command in help_text
    assert "Exit codes" in help_text
