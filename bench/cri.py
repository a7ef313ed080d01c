"""CRI audit (issue 13): `harden audit --source cri` against a floor, for 100 pods.

A containerd of our own (tests/cri_node.py: its own config, root, state and socket;
loopback-only networking) runs N pods of one hardened container each. The floor
(bench/cri_floor.py) is one python process that lists the containers, asks every one's
verbose status (concurrently, as harden does) and reads the same /proc and cgroup files,
with no rules and no mapping. Best (and median) of REPEAT runs in turns, after a warm-up.

    HARDEN_BENCH_CRI_PODS=100 .venv/bin/python bench/run.py   # default 100
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
from pathlib import Path

import yaml

from bench.audit import _best, _timed
from bench.common import VENV_BIN, header, row

HERE = Path(__file__).resolve().parent


def main() -> None:
    from harden.system.engine import docker_client
    from tests.cri_node import node

    pods = int(os.environ.get("HARDEN_BENCH_CRI_PODS", "100"))
    manifest = next(yaml.safe_load_all((HERE.parent / "tests/data/cri/pods.yaml").read_text()))
    header(f"CRI audit: `harden audit --source cri` vs CRI + /proc floor, {pods} pods (issue 13)")
    with (
        tempfile.TemporaryDirectory() as tmp,
        node(Path(tmp), docker_client()) as (runtime, kubelet),
    ):
        for index in range(pods):
            pod = copy.deepcopy(manifest)
            pod["metadata"]["name"] = f"bench-{index}"
            kubelet.run(pod)
        out = Path(tmp) / "report.json"
        audit = [
            str(VENV_BIN / "harden"),
            "audit",
            "--source",
            "cri",
            "--cri-socket",
            runtime.socket,
            "--format",
            "json",
            "-o",
            str(out),
        ]
        env_path = str(HERE.parent)
        floor_cmd = [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {env_path!r}); "
            "sys.argv[1:] = [" + repr(runtime.socket) + "]; "
            "from bench.cri_floor import main; main()",
        ]
        _timed(audit)  # warm-up: rule-pack cache and bytecode
        (floor, floor_median, seen), (full, full_median, _) = _best(floor_cmd, audit)
        count = int(seen.strip() or 0)
        row(
            f"{pods} pods ({count} containers): floor best (median)",
            f"{floor:.3f} s ({floor_median:.3f} s)",
        )
        row(
            f"{pods} pods: harden audit --source cri best (median)",
            f"{full:.3f} s ({full_median:.3f} s)",
        )
        row(
            f"{pods} pods: ratio, per container",
            f"{full / floor:.2f}x, {1000 * full / max(count, 1):.2f} ms",
        )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    main()
