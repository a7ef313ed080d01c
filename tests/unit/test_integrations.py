"""The pre-commit hook and the GitHub workflow shipped in the repository (the fleet
DaemonSet is tested in test_deploy.py)."""

from __future__ import annotations

from harden.system.yaml import load_single, parse_documents
from tests.conftest import ROOT

WORKFLOW = ROOT / "audit" / "integrations" / "github-workflow.yml"
README = (ROOT / "README.md").read_text()


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
    ):
        assert name in README, name
