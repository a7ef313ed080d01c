"""The Kubernetes version the gate judges Pod Security as of: the policy's
``kubernetes_version`` or ``--k8s-version`` (the newest known by default); an unknown one
is an input error that names the known range."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harden.audit.rules.versions import NEWEST, label
from harden.errors import ExitCode
from tests.conftest import run_harden

POD = """apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 0, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: app:1
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
"""


def _failing(tmp_path: Path, *args: str) -> set[str]:
    pod = tmp_path / "pod.yaml"
    pod.write_text(POD)
    out = tmp_path / "out.json"
    result = run_harden("gate", str(pod), "--format", "json", "-o", str(out), *args)
    assert result.code in (ExitCode.OK, ExitCode.FAILED), result.output
    report = json.loads(out.read_text())
    return {f["rule"] for t in report["targets"] for f in t["findings"] if f["status"] == "fail"}


def _policy(tmp_path: Path, version: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(f"version: 1\npacks: [pss-restricted]\nkubernetes_version: {version}\n")
    return str(path)


def test_controls_newer_than_the_version_are_not_run(tmp_path: Path) -> None:
    # runAsUser: 0 is refused from v1.23 (PSSR-004); v1.22 has no such control
    assert "PSSR-004" not in _failing(tmp_path, "--policy", _policy(tmp_path, "v1.22"))
    assert "PSSR-004" in _failing(tmp_path, "--policy", _policy(tmp_path, "v1.23"))


def test_the_command_line_version_wins_over_the_policy(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "v1.22")
    assert "PSSR-004" in _failing(tmp_path, "--policy", policy, "--k8s-version", "1.23")


def test_the_default_is_the_newest_known_version(tmp_path: Path) -> None:
    everything = tmp_path / "all.yaml"
    everything.write_text("version: 1\npacks: [pss-restricted]\n")
    assert _failing(tmp_path, "--policy", str(everything)) == _failing(
        tmp_path, "--policy", str(everything), "--k8s-version", label(NEWEST)
    )
    assert "PSSR-004" in _failing(tmp_path, "--policy", str(everything))


def test_allowed_sets_follow_the_version(tmp_path: Path) -> None:
    # net.ipv4.tcp_rmem joined the safe sysctls in v1.32 (PSSB-011, default policy)
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        POD.replace(
            "  securityContext: {runAsNonRoot: true,",
            "  securityContext: {sysctls: [{name: net.ipv4.tcp_rmem, value: '4096 87380 6291456'}],"
            " runAsNonRoot: true,",
        )
    )
    older = run_harden("gate", str(pod), "--k8s-version", "v1.31", "--fail-on", "medium")
    newer = run_harden("gate", str(pod), "--k8s-version", "v1.32", "--fail-on", "medium")
    assert older.code == ExitCode.FAILED, older.output
    assert "PSSB-011" in older.output
    assert "PSSB-011" not in newer.output


@pytest.mark.parametrize("version", ["v1.38", "v2.0", "1.x", "latest", " "])
def test_an_unknown_version_on_the_command_line_is_an_input_error(
    tmp_path: Path, version: str
) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text(POD)
    result = run_harden("gate", str(pod), "--k8s-version", version)
    assert result.code == ExitCode.INPUT, result.output
    assert "harden knows v1.0 to v1.37" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("version", ["v1.40", "latest", "'1.3.1'"])
def test_an_unknown_version_in_the_policy_is_a_located_input_error(
    tmp_path: Path, version: str
) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text(POD)
    policy = _policy(tmp_path, version)
    result = run_harden("gate", str(pod), "--policy", policy)
    assert result.code == ExitCode.INPUT, result.output
    assert f"{policy}:3: kubernetes_version: unknown Kubernetes version" in result.output
    assert "harden knows v1.0 to v1.37" in result.output
