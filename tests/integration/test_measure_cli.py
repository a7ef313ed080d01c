"""``harden measure-runtime`` as a user runs it: every container it starts carries the
prefix it is given, so tests and shared engines can tell its containers apart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PREFIX, run_harden


@pytest.mark.docker
@pytest.mark.root
@pytest.mark.slow
def test_measured_containers_carry_the_prefix(docker: Any, test_image: str, tmp_path: Path) -> None:
    started = int(time.time()) - 1
    out = tmp_path / "runtime-runc.yaml"
    result = run_harden(
        "measure-runtime", "--image", test_image, "--rounds", "1", "-o", str(out),
        "--container-prefix", f"{PREFIX}measure-",
    )  # fmt: skip
    assert result.code == 0, result.output
    events = docker.events(
        since=started, until=int(time.time()) + 1, filters={"event": "create"}, decode=True
    )
    names = [e["Actor"]["Attributes"]["name"] for e in events if e.get("Type") == "container"]
    mine = [n for n in names if n.startswith(f"{PREFIX}measure-measure-")]
    assert len(mine) >= 9  # one per variant
    assert "name: runtime-runc" in out.read_text()
