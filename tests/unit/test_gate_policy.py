"""Policies: threshold, rule selection, waivers (with expiry), inline waivers, the baseline."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import jsonschema
import pytest

from harden.audit.report import Report
from harden.audit.rules.model import Acceptance, Status
from harden.errors import ExitCode, HardenError
from harden.gate.policy import schema
from harden.gate.run import GateRequest, exit_code, gate
from harden.resources import data_dir
from tests.conftest import DATA

APP = DATA / "gate" / "policy" / "app.yaml"
TODAY = datetime.date(2026, 11, 26)


def _baseline(fmt: int, version: str) -> str:
    tool = {"name": "harden", "version": version}
    return json.dumps({"kind": "harden-baseline", "format": fmt, "tool": tool, "findings": []})


def _gate(tmp_path: Path, policy: str | None = None, **kwargs: object) -> Report:
    path = None
    if policy is not None:
        path = tmp_path / "policy.yaml"
        path.write_text(policy)
    request = GateRequest((APP,), "2026-11-26T12:00:00Z", TODAY, policy=path, **kwargs)  # type: ignore[arg-type]
    return gate(request)[0]


def _status(report: Report, rule: str) -> tuple[Status, str]:
    finding = next(f for t in report.targets for f in t.findings if f.rule.id == rule)
    return finding.status, finding.accepted.how.value if finding.accepted else ""


def test_the_policy_file_has_a_json_schema_kept_in_step() -> None:
    shipped = json.loads((data_dir("audit") / "policy.schema.json").read_text())
    assert shipped == schema()
    jsonschema.Draft202012Validator.check_schema(shipped)


def test_threshold_and_rule_selection(tmp_path: Path) -> None:
    # CAP-002 (high) fails on NET_RAW: the default threshold fails the gate
    assert exit_code(_gate(tmp_path)) is ExitCode.FAILED
    report = _gate(tmp_path, "version: 1\nfail_on: critical\n")
    assert exit_code(report) is ExitCode.OK
    report = _gate(tmp_path, "version: 1\nrules: {exclude: [CAP-00?, PSSB-004]}\n")
    assert {f.rule.id for t in report.targets for f in t.findings}.isdisjoint(
        {"CAP-002", "CAP-001"}
    )
    assert exit_code(report) is ExitCode.OK
    only = _gate(tmp_path, "version: 1\npacks: [pss-restricted]\nkubernetes_version: v1.21\n")
    assert {f.rule.id for t in only.targets for f in t.findings} == {
        "PSSR-001",
        "PSSR-002",
        "PSSR-003",
        "PSSR-005",
    }


def test_a_waiver_accepts_and_marks_the_failure(tmp_path: Path) -> None:
    policy = """version: 1
waivers:
  - rule: CAP-002
    target: Deployment/prod/legacy/*
    reason: ping needs raw sockets
    owner: team-net
    expires: 2999-12-31
  - rule: PSSB-004
    reason: same
    owner: team-net
    expires: 2999-12-31
"""
    report = _gate(tmp_path, policy)
    assert _status(report, "CAP-002") == (Status.WAIVED, "waiver")
    assert _status(report, "MNT-004") == (Status.WAIVED, "inline")
    assert exit_code(report) is ExitCode.OK
    assert report.gate is not None
    assert report.gate.unused == ()


def test_an_expired_waiver_fails_the_gate_and_says_so(tmp_path: Path) -> None:
    policy = """version: 1
fail_on: never
waivers:
  - {rule: CAP-002, reason: ping needs raw sockets, owner: team-net, expires: 2020-01-31}
  - {rule: RUN-001, reason: stale, owner: nobody, expires: 2999-01-31}
"""
    report = _gate(tmp_path, policy)
    assert _status(report, "CAP-002") == (Status.FAIL, "")
    assert report.gate is not None
    assert report.gate.violations == 1
    assert "expired on 2020-01-31" in report.gate.expired[0]
    assert "policy.yaml:4" in report.gate.expired[0]
    assert "RUN-001" in report.gate.unused[0]
    assert exit_code(report) is ExitCode.FAILED


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("version: 1\nwaivers: [{rule: X, reason: r, owner: o, expires: 2024-13-45}]\n", "expires"),
        ("version: 1\nwaivers: [{rule: X, reason: r, owner: o}]\n", "expires"),
        ("version: 1\nwaivers: [{rule: X, reason: rrr, owner: o, expires: 0}]\n", "YYYY-MM-DD"),
        ("version: 2\n", "version"),
        ("version: 1\nfail_on: sometimes\n", "fail_on"),
        ("version: 1\nversion: 1\n", "duplicate key"),
        ("version: 1\nbogus: true\n", "bogus"),
    ],
)
def test_bad_policies_are_located_input_errors(tmp_path: Path, policy: str, message: str) -> None:
    with pytest.raises(HardenError) as raised:
        _gate(tmp_path, policy)
    assert raised.value.exit_code is ExitCode.INPUT
    assert message in raised.value.diagnostics()
    assert "policy.yaml:" in raised.value.diagnostics()


def test_a_bad_inline_waiver_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(APP.read_text().replace("expires=2999-01-01", "expires=someday"))
    with pytest.raises(HardenError) as raised:
        gate(GateRequest((bad,), "x", TODAY))
    assert f"{bad.name}:7" in raised.value.diagnostics()  # paths shown from the scan root
    assert "not a date" in raised.value.diagnostics()
    bad.write_text(APP.read_text().replace("waive.MNT-004", "waive.MNT-999"))
    with pytest.raises(HardenError, match="names no rule"):
        gate(GateRequest((bad,), "x", TODAY))


def test_an_expired_inline_waiver_fails(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(APP.read_text().replace("expires=2999-01-01", "expires=2001-01-01"))
    report, _ = gate(GateRequest((old,), "x", TODAY, fail_on=None))
    assert report.gate is not None
    assert report.gate.violations == 1
    expired = f"{old.name}:7: inline waiver of MNT-004 expired on 2001-01-01"
    assert expired in report.gate.expired[0]


def test_the_baseline_accepts_known_findings_only(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    report, text = gate(GateRequest((APP,), "x", TODAY, write_baseline=baseline))
    assert text is not None
    assert exit_code(report) is ExitCode.OK
    baseline.write_text(text)
    assert gate(GateRequest((APP,), "x", TODAY, write_baseline=baseline))[1] == text  # stable
    entries = json.loads(text)["findings"]
    assert {e["rule"] for e in entries} >= {"CAP-002", "PSSB-004"}
    assert "MNT-004" not in {e["rule"] for e in entries}  # waived inline, not baselined
    report, _ = gate(GateRequest((APP,), "x", TODAY, baseline=baseline))
    assert _status(report, "CAP-002") == (Status.WAIVED, Acceptance.BASELINE.value)
    assert exit_code(report) is ExitCode.OK
    # a new failure is not in the baseline
    worse = tmp_path / "app.yaml"
    worse.write_text(APP.read_text().replace("NET_RAW", "NET_RAW, SYS_ADMIN"))
    report, _ = gate(GateRequest((worse,), "x", TODAY, baseline=baseline))
    assert exit_code(report) is ExitCode.FAILED  # another file, and CAP-001 is new


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            _baseline(1, "0.9.0"),
            "written by harden 0.9.0",
        ),
        (
            _baseline(7, "0.1.0"),
            "format 7",
        ),
        ('{"kind": "sarif"}', "not a harden baseline"),
        ("[1, 2", "not valid JSON"),
    ],
)
def test_a_baseline_from_another_version_is_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(content)
    with pytest.raises(HardenError) as raised:
        gate(GateRequest((APP,), "x", TODAY, baseline=baseline))
    assert message in raised.value.diagnostics()
    assert raised.value.exit_code is ExitCode.INPUT
