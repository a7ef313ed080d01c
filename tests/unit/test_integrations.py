"""The pre-commit hook, the composite GitHub Action and the workflow shipped in the repository.

(The fleet DaemonSet is tested in test_deploy.py.)
"""

from __future__ import annotations

from pathlib import Path

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
    assert '--output "sarif=$HARDEN_SARIF" --output markdown=harden.md' in runs
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


def test_the_action_runs_the_gate_once_for_every_report(tmp_path: Path) -> None:
    """The action's gate step, run by bash with a harden that counts its runs."""
    import os
    import subprocess
    import sys

    step = next(
        s for s in load_single(ACTION, what="action").data["runs"]["steps"] if s.get("id") == "gate"
    )
    shim = tmp_path / "bin" / "harden"
    shim.parent.mkdir()
    real = Path(sys.executable).parent / "harden"
    shim.write_text(f'#!/bin/sh\necho run >> "{tmp_path}/runs"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{shim.parent}:{os.environ['PATH']}",
        "HARDEN_PATHS": str(ROOT / "tests" / "data" / "gate" / "corpus" / "k8s" / "bad.yaml"),
        "HARDEN_POLICY": "",
        "HARDEN_FAIL_ON": "",
        "HARDEN_SARIF": "harden.sarif",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }
    done = subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=tmp_path,
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "runs").read_text() == "run\n"  # once
    assert (tmp_path / "harden.sarif").is_file()
    assert "FAILED" in (tmp_path / "summary.md").read_text()
    assert "exit-code=1" in (tmp_path / "output").read_text()
    assert "gate: FAILED" in done.stdout  # the console summary, in the job's log
