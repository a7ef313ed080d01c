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
from harden.report.formats import Format
from tests.conformance import junit_problems, sarif_problems
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


NAME = "web-\ud800-\udfff-\ufffe\uffff-\x1b[31m"


def _hostile_inspect(tmp_path: Path) -> Path:
    inspect = json.loads(INSPECT.read_text())
    inspect[0]["Name"] = "/" + NAME
    inspect[0]["Config"]["Labels"] = {NAME: NAME}
    inspect[0]["HostConfig"]["MaskedPaths"] = [f"/proc/{NAME}"]  # a fact the rules read
    path = tmp_path / "inspect.json"
    path.write_text(json.dumps(inspect))  # \ud800 escapes: what a JSON file can carry
    return path


def _check_format(fmt: Format, text: str) -> None:
    text.encode("utf-8")  # every byte written is UTF-8
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]", text), fmt
    if fmt is Format.SARIF:
        assert sarif_problems(text) == []
    if fmt is Format.JUNIT:
        assert junit_problems(text) == []
    if fmt in (Format.JSON, Format.SARIF):
        json.loads(text)


def test_lone_surrogates_and_noncharacters_in_names_render_in_every_format(
    tmp_path: Path,
) -> None:
    """A JSON escape (\\ud800) can put a lone surrogate in an inspect file; YAML refuses
    one, so a manifest carries the noncharacters and escapes only."""
    inspect = _hostile_inspect(tmp_path)
    manifest = tmp_path / "pod.json"
    hostile = "web-\ufffe\uffff-\x1b[31m-\u202e"
    manifest.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "annotations": {"harden.dev/waive.PRIV-001": hostile}},
                "spec": {
                    "containers": [
                        {"name": hostile, "image": hostile, "securityContext": {"privileged": True}}
                    ]
                },
            }
        )
    )
    host = tmp_path / "host.json"
    code, _ = _run("audit", "--input", str(inspect), "--format", "json", "-o", str(host))
    assert code == ExitCode.FAILED
    for fmt in Format:
        out = tmp_path / f"out.{fmt.value}"
        for args in (
            ("audit", "--input", str(inspect)),
            ("gate", str(inspect)),
            ("gate", str(manifest), "--fail-on", "low"),
            ("report", "merge", str(host)),
        ):
            code, _ = _run(*args, "--format", fmt.value, "-o", str(out))
            assert code == ExitCode.FAILED, (args, fmt)
            _check_format(fmt, out.read_text())
            result = run_harden(*args, "--format", fmt.value)  # to standard output too
            assert result.code == ExitCode.FAILED, (args, fmt, result.output)


def test_names_holding_xml_noncharacters_make_valid_junit(tmp_path: Path) -> None:
    code, output = _run("audit", "--input", str(_hostile_inspect(tmp_path)), "--format", "junit")
    assert code == ExitCode.FAILED
    assert junit_problems(output) == []
    assert "web-\\ud800-\\udfff-\\ufffe\\uffff-\\x1b[31m" in output


def test_html_shows_inline_waiver_reasons_literally(tmp_path: Path) -> None:
    reason = "\x1b]0;pwned\x07<b>bold</b>\u202egnp.exe"
    manifest = tmp_path / "pod.json"
    manifest.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "annotations": {"harden.dev/waive.PRIV-001": reason}},
                "spec": {
                    "containers": [
                        {"name": "c", "image": "i", "securityContext": {"privileged": True}}
                    ]
                },
            }
        )
    )
    out = tmp_path / "report.html"
    code, _ = _run("gate", str(manifest), "--format", "html", "-o", str(out))
    assert code == ExitCode.OK
    html = out.read_text()
    assert "waived (inline)" in html
    assert "\\x1b]0;pwned\\x07&lt;b&gt;bold&lt;/b&gt;\\u202egnp.exe" in html
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]", html)


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
