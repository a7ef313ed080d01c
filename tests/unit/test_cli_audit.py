"""`harden audit` as a user runs it offline (--input): exit codes, output files, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden.cli import cli
from harden.errors import ExitCode
from tests.conftest import DATA

PODMAN = str(DATA / "audit" / "inspect" / "podman-4.json")
DOCKER = str(DATA / "audit" / "inspect" / "docker-20.10.json")


def _audit(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_failures_at_the_threshold_exit_1_and_the_table_lists_them() -> None:
    code, output = _audit("--input", PODMAN)
    assert code == ExitCode.FAILED
    assert "debug" in output
    assert "PRIV-001" in output
    assert "2 containers:" in output


def test_the_threshold_can_be_raised_or_switched_off() -> None:
    assert _audit("--input", PODMAN, "--fail-on", "never")[0] == ExitCode.OK
    assert _audit("--input", DOCKER, "--fail-on", "critical")[0] == ExitCode.FAILED
    code, _ = _audit("--input", PODMAN, "--pack", "kernel", "--fail-on", "low")
    assert code == ExitCode.OK  # the kernel pack needs /proc: everything is skipped offline


def test_json_report_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "host.json"
    code, output = _audit("--input", PODMAN, "--input", DOCKER, "--format", "json", "-o", str(out))
    assert code == ExitCode.FAILED
    assert output == ""
    document = json.loads(out.read_text())
    assert document["scan"]["source"] == "inspect"
    assert document["summary"]["targets"] == 6
    assert document["targets"][0]["name"] == "debug"


def test_a_bad_input_file_is_an_input_error_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "inspect.json"
    bad.write_text('[{"Id": "abc", "HostConfig": {}}, 42]')
    out = tmp_path / "report.json"
    code, output = _audit("--input", str(bad), "--format", "json", "-o", str(out))
    assert code == ExitCode.INPUT
    assert f"error: {bad}: [1]: expected an inspect object" in output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_a_missing_input_file_is_named() -> None:
    code, output = _audit("--input", "/nonexistent/inspect.json")
    assert code == ExitCode.INPUT
    assert "/nonexistent/inspect.json: no such file" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", PODMAN, "web"], "--input audits saved files"),
        (["--source", "proc", "web"], "NAMES select containers through the engine"),
        (["--input", PODMAN, "--pack", "nope"], "unknown rule pack 'nope'"),
        (["--input", PODMAN, "--format", "yaml"], "Invalid value for '--format'"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str) -> None:
    code, output = _audit(*args)
    assert code == ExitCode.INPUT
    assert message in output


def test_an_output_directory_is_refused_before_the_scan(tmp_path: Path) -> None:
    code, output = _audit("--input", PODMAN, "-o", str(tmp_path))
    assert code == ExitCode.INPUT
    assert "is a directory" in output
