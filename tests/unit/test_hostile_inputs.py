"""Inputs a fuzzer or an attacker writes: each one the fuzzer found crashing harden (exit 70)
or leaking through a report format, kept as a case of its own (issue 12, section 3).

The fuzzer itself is tests/fuzz/; these are the crashes it found, named, through the CLI.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("k8s", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
         "    - {name: c, image: i, resources: {limits: {cpu: .inf, memory: 64Mi}}}\n"),
        ("k8s", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
         "    - {name: c, image: i, resources: {limits: {cpu: 1, memory: .nan}}}\n"),
        ("k8s", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
         "    - {name: c, image: i, resources: {limits: {cpu: 1, memory: 1e400}}}\n"),
        ("compose", "services:\n  a: {image: i, cpus: .inf}\n"),
        ("compose", "services:\n  a: {image: i, cpus: 1e400}\n"),
        ("compose", "services:\n  a: {image: i, mem_limit: " + "9" * 400 + "}\n"),
        ("compose", "services:\n  a: {image: i, deploy: {resources: {limits: {memory: .nan}}}}\n"),
    ],
)  # fmt: skip
def test_infinite_quantities_make_their_facts_unknown(tmp_path: Path, kind: str, text: str) -> None:
    path = tmp_path / ("compose.yaml" if kind == "compose" else "pod.yaml")
    path.write_text(text)
    code, output = _run("gate", str(path), "--format", "json", "--fail-on", "never")
    assert code == ExitCode.INCOMPLETE
    unknown = [
        f["message"]
        for t in json.loads(output)["targets"]
        for f in t["findings"]
        if f["status"] == "error"
    ]
    assert unknown
    assert all(re.search("is not a (finite quantity|byte value)", m) for m in unknown), unknown


@pytest.mark.parametrize("ports", [5, "8080", [1], {"80/tcp": 5}, {"80/tcp": "x"}, {"80/tcp": [7]}])
def test_inspect_ports_of_the_wrong_type_make_the_port_facts_unknown(
    tmp_path: Path, ports: Any
) -> None:
    inspect = json.loads(INSPECT.read_text())[:1]
    inspect[0]["NetworkSettings"]["Ports"] = ports
    path = tmp_path / "inspect.json"
    path.write_text(json.dumps(inspect))
    code, output = _run("audit", "--input", str(path), "--format", "json", "--fail-on", "never")
    assert code == ExitCode.INCOMPLETE
    unknown = {
        f["rule"] for t in json.loads(output)["targets"] for f in t["findings"]
        if f["status"] == "error"
    }  # fmt: skip
    assert unknown
    assert "NET-001" in unknown or any(r.startswith("NET") for r in unknown)


def _host_report(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "host.json"
    run_harden("audit", "--input", str(INSPECT), "--format", "json", "-o", str(out))
    report: dict[str, Any] = json.loads(out.read_text())
    return report


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r["targets"][0].update(findings={}), "targets/0/findings"),
        (lambda r: r["targets"][0]["findings"][0].update(status="maybe"), "status"),
        (lambda r: r["targets"][0].update(labels=[1]), "targets/0/labels"),
        (lambda r: r["rules"][0].update(severity=["high"]), "rules/0/severity"),
        (lambda r: r["targets"][0]["passed"].append("NOPE-001"), "targets/0/passed"),
        (lambda r: r["targets"][0]["findings"][0].update(rule="ZZZ-999"), "findings/0/rule"),
        (lambda r: r.update(extra=True), "(top)"),
        (lambda r: r["scan"].pop("host"), "scan"),
    ],
)
def test_report_merge_refuses_host_reports_that_break_the_schema(
    tmp_path: Path, change: Any, field: str
) -> None:
    report = _host_report(tmp_path)
    change(report)
    path = tmp_path / "node.json"
    path.write_text(json.dumps(report))
    out = tmp_path / "fleet.html"
    code, output = _run("report", "merge", str(path), "--format", "html", "-o", str(out))
    assert code == ExitCode.INPUT, output
    assert f"error: {path}:" in output
    assert field in output
    assert not out.exists()
