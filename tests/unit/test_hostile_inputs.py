"""Inputs a fuzzer or an attacker writes: each one the fuzzer found crashing harden (exit 70)
or leaking through a report format, kept as a case of its own (issue 12, section 3).

The fuzzer itself is tests/fuzz/; these are the crashes it found, named, through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harden.errors import ExitCode
from tests.conftest import DATA, run_harden

INSPECT = DATA / "audit" / "inspect" / "docker-20.10.json"
CORPUS = DATA / "gate" / "corpus"


def _run(*args: str) -> tuple[int, str]:
    result = run_harden(*args)
    assert "Traceback" not in result.output
    assert "internal error" not in result.output, result.output
    return result.code, result.output


@pytest.mark.parametrize(
    "tagged",
    ['!!timestamp "x"', '!!bool "x"', '!!int ""', "!!float abc", "!!null x", "!!int {a: 1}"],
)
def test_explicit_yaml_tags_that_do_not_fit_are_located_errors(tmp_path: Path, tagged: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: web\ndescription: {tagged}\n")
    code, output = _run("spec", "check", str(spec))
    assert code == ExitCode.INPUT
    assert f"{spec}:2: description:" in output
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {tagged}\n")
    code, output = _run("gate", str(manifest))
    assert code == ExitCode.INPUT
    assert f"{manifest}:4" in output


def test_a_tag_on_a_whole_document_is_refused(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("!!timestamp\nversion: 1\n")
    code, output = _run("gate", str(CORPUS / "k8s"), "--policy", str(policy))
    assert code == ExitCode.INPUT
    assert "unsupported YAML tag 'tag:yaml.org,2002:timestamp'" in output


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_json_nested_deep_is_an_input_error_in_every_json_reader(
    tmp_path: Path, depth: int
) -> None:
    deep = _nested(depth)
    inspect = json.loads(INSPECT.read_text())
    inspect[0]["Config"]["Labels"] = {"x": "PLACEHOLDER"}
    files = {
        "inspect.json": json.dumps(inspect).replace('"PLACEHOLDER"', deep),
        "report.json": '{"kind": "harden-audit-report", "x": ' + deep + "}",
        "baseline.json": '{"kind": "harden-baseline", "findings": ' + deep + "}",
        "seccomp.json": '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": ' + deep + "}",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    commands = [
        ("audit", "--input", str(tmp_path / "inspect.json")),
        ("gate", str(tmp_path / "inspect.json")),
        ("report", "merge", str(tmp_path / "report.json")),
        ("gate", str(CORPUS), "--baseline", str(tmp_path / "baseline.json")),
        ("explain", str(tmp_path / "seccomp.json")),
        ("diff", str(tmp_path / "seccomp.json"), "docker-default"),
    ]
    for args in commands:
        code, output = _run(*args)
        assert code == ExitCode.INPUT, (args, output)
        assert "nested deeper than 64 levels" in output, (args, output)


def test_json_without_numbers_json_has_is_an_input_error(tmp_path: Path) -> None:
    for text in ("NaN", "Infinity", "-Infinity", "1e400"):
        seccomp = tmp_path / "seccomp.json"
        seccomp.write_text('{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": ' + text + "}")
        code, output = _run("explain", str(seccomp))
        assert code == ExitCode.INPUT
        assert f"{seccomp}: not valid JSON" in output
