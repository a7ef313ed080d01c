"""The pre-commit hook, the composite GitHub Action and the workflow shipped in the repository.

(The fleet DaemonSet is tested in test_deploy.py.)
"""

from __future__ import annotations

from harden.system.yaml import load_single, parse_documents
from tests.conftest import ROOT

ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "harden-gate.yml"
README = (ROOT / "README.md").read_text()


def test_the_pre_commit_hook() -> None:
    (hooks,) = parse_documents((ROOT / ".pre-commit-hooks.yaml").read_text(), "hooks")
    (hook,) = hooks.data
    assert hook["id"] == "harden-gate"
    assert hook["entry"] == "harden gate"


def test_the_action_installs_harden_from_its_own_checkout() -> None:
    action = load_single(ACTION, what="action").data
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert 'pip install --disable-pip-version-check --quiet "$GITHUB_ACTION_PATH"' in runs
    assert "pip install harden" not in runs  # another project owns that name on PyPI
    assert '--format sarif -o "$HARDEN_SARIF"' in runs
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif }}"
    # inputs reach the shell through the environment, never pasted into the script
    assert "${{ inputs." not in runs


def test_the_workflow_gates_deploy_with_the_action() -> None:
    workflow = load_single(WORKFLOW, what="workflow").data
    assert workflow["permissions"]["security-events"] == "write"
    steps = workflow["jobs"]["gate"]["steps"]
    (local,) = [s for s in steps if s.get("uses") == "./"]
    assert local["with"]["paths"] == "deploy/"
    for name in (".pre-commit-hooks.yaml", "action.yml", ".github/workflows/harden-gate.yml"):
        assert name in README, name
