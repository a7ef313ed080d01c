"""``make demo`` as the README promises: the three jobs, and nothing left running."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


@pytest.mark.docker
@pytest.mark.root
@pytest.mark.slow
def test_make_demo_generates_audits_and_gates(docker: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        ["make", "-C", str(ROOT), "demo", f"OUT={out}"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for job in ("== 1. generate", "== 2. audit", "== 3. gate"):
        assert job in done.stdout
    assert (out / "web" / "seccomp.json").is_file()
    audit = json.loads((out / "audit.json").read_text())
    names = {t["name"] for t in audit["targets"]}
    assert {"harden-demo-web", "harden-demo-risky"} <= names
    assert (
        "# the demo shop: harden fix keeps this comment"
        in (out / "gate" / "compose.yaml").read_text()
    )
    assert "gate: PASSED" in done.stdout  # after the fix
    assert 'export PATH="' in done.stdout
    left = docker.containers.list(all=True, filters={"name": "harden-demo-"})
    assert left == []
    assert docker.images.list(name="harden-demo-busybox") == []
