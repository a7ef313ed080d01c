"""The fleet DaemonSet, the pre-commit hook and the GitHub workflow shipped in the repository.

Kubernetes cannot run here: the DaemonSet is validated structurally (what it mounts, how,
with which privileges and limits) and gated by harden itself, with its inline waivers.
"""

from __future__ import annotations

from typing import Any

from harden.errors import ExitCode
from harden.system.yaml import load_single, parse_documents
from tests.conftest import ROOT, run_harden

DAEMONSET = ROOT / "audit" / "integrations" / "daemonset.yaml"
WORKFLOW = ROOT / "audit" / "integrations" / "github-workflow.yml"
README = (ROOT / "README.md").read_text()


def _daemonset() -> dict[str, Any]:
    data: dict[str, Any] = load_single(DAEMONSET, what="manifest").data
    return data


def test_the_daemonset_is_structurally_sound() -> None:
    ds = _daemonset()
    assert (ds["apiVersion"], ds["kind"]) == ("apps/v1", "DaemonSet")
    template = ds["spec"]["template"]
    labels = template["metadata"]["labels"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pod = template["spec"]
    assert pod["hostPID"] is True
    assert not pod.get("hostNetwork")
    assert not pod.get("hostIPC")
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert set(mounts) == set(volumes)
    assert volumes["proc"]["hostPath"]["path"] == "/proc"
    assert mounts["proc"]["readOnly"] is True
    assert volumes["engine"]["hostPath"]["path"].endswith("docker.sock")
    assert mounts["engine"]["readOnly"] is True
    writable = {n for n, m in mounts.items() if not m.get("readOnly")}
    assert writable == {"reports", "tmp"}
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert not sc.get("privileged")
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["SYS_PTRACE", "DAC_READ_SEARCH"]}
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HARDEN_PROC"] == mounts["proc"]["mountPath"]
    assert env["DOCKER_HOST"] == "unix://" + mounts["engine"]["mountPath"]
    script = container["args"][0]
    assert "harden audit --format json -o" in script
    assert "/reports/${NODE_NAME}.json" in script


def test_harden_gates_its_own_daemonset() -> None:
    result = run_harden("gate", str(DAEMONSET), "--format", "json")
    assert result.code == ExitCode.OK, result.output
    import json

    document = json.loads(result.stdout)
    waived = [f for t in document["targets"] for f in t["findings"] if f["status"] == "waived"]
    assert {f["rule"] for f in waived} >= {"NS-002", "MNT-002", "CAP-001", "PSSB-005"}
    assert all(f["accepted"]["how"] == "inline" for f in waived)
    strict = run_harden("gate", str(DAEMONSET), "--fail-on", "medium")
    assert strict.code == ExitCode.FAILED  # CAP-003: two capabilities are kept, on purpose


def test_the_pre_commit_hook_and_the_workflow() -> None:
    (hooks,) = parse_documents((ROOT / ".pre-commit-hooks.yaml").read_text(), "hooks")
    (hook,) = hooks.data
    assert hook["id"] == "harden-gate"
    assert hook["entry"] == "harden gate"
    workflow = load_single(WORKFLOW, what="workflow").data
    steps = workflow["jobs"]["gate"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "--format sarif -o harden.sarif" in runs
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "harden.sarif"
    assert workflow["permissions"]["security-events"] == "write"
    for name in (
        ".pre-commit-hooks.yaml",
        "audit/integrations/github-workflow.yml",
        "audit/integrations/daemonset.yaml",
    ):
        assert name in README, name
