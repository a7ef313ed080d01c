"""Host audit (issue 5): `harden audit --format json` against the floor, for N containers.

The floor (bench/audit_floor.py) is one python3 process that lists and inspects every
running container over the raw Engine API socket and reads the same /proc and cgroup
files, with no rules. Both see every running container on the engine (the count is
printed). Times are the best (and median) of REPEAT runs, after a warm-up run that fills
harden's rule-pack cache and writes bytecode, as an installed harden has. Containers are
named harden-bench-*, use --network none, and are removed afterwards.

    HARDEN_BENCH_AUDIT_SIZES=20,100,300,500 .venv/bin/python bench/run.py   # default 20,100,300

A last shape (issue 12): the largest size again with ROOT_MOUNTS of its containers
mounting the host's / (`-v /:/host:ro`): each of those sees every mount of the host,
hundreds with this many containers running, and must still cost about what another does.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import VENV_BIN, header, row

HERE = Path(__file__).resolve().parent
PREFIX = "harden-bench-"
REPEAT = 7
ROOT_MOUNTS = 10
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _image(client: Any) -> str:
    busybox = shutil.which("busybox")
    if busybox is None:
        raise SystemExit("busybox-static is needed (make bench installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        (root / "bin").mkdir(parents=True)
        shutil.copy2(busybox, root / "bin" / "busybox")
        (root / "bin" / "sleep").symlink_to("busybox")
        tar_path = Path(tmp) / "root.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(root, arcname=".")
        repo = f"{PREFIX}{uuid.uuid4().hex[:8]}"
        client.api.import_image_from_data(tar_path.read_bytes(), repository=repo, tag="1")
    return f"{repo}:1"


def start(client: Any, image: str, started: list[Any], count: int, **options: Any) -> None:
    """Start busybox sleepers (harden-bench-*, no network) until ``started`` holds ``count``."""
    while len(started) < count:
        name = f"{PREFIX}{uuid.uuid4().hex[:10]}"
        started.append(
            client.containers.run(
                image, ["sleep", "86400"], name=name, network_mode="none", detach=True, **options
            )
        )


def _timed(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=ENV)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, done.stdout


def _best(*argvs: list[str]) -> list[tuple[float, float, str]]:
    """Best and median of REPEAT runs of each command, run in turns: this machine's speed
    drifts by tens of percent within a minute, and a ratio must compare like with like."""
    runs: list[list[tuple[float, str]]] = [[] for _ in argvs]
    for _ in range(REPEAT):
        for out, argv in zip(runs, argvs, strict=True):
            out.append(_timed(argv))
    return [(min(t for t, _ in r), statistics.median(t for t, _ in r), r[-1][1]) for r in runs]


def main() -> None:
    from harden.system.engine import docker_client

    sizes = [int(n) for n in os.environ.get("HARDEN_BENCH_AUDIT_SIZES", "20,100,300").split(",")]
    client = docker_client()
    image = _image(client)
    started: list[Any] = []
    out = Path(tempfile.mkdtemp()) / "report.json"
    audit = [str(VENV_BIN / "harden"), "audit", "--format", "json", "-o", str(out)]
    floor_cmd = [sys.executable, str(HERE / "audit_floor.py")]
    header("audit: `harden audit --format json` vs raw API + /proc floor (issue 5)")
    try:
        for size in sizes:
            start(client, image, started, size)
            _timed(audit)  # warm-up: rule-pack cache and bytecode
            (floor, floor_median, seen), (full, full_median, _) = _best(floor_cmd, audit)
            count = int(seen.strip() or 0)
            row(
                f"N={size} ({count} running): floor best (median)",
                f"{floor:.3f} s ({floor_median:.3f} s)",
            )
            row(f"N={size}: harden audit best (median)", f"{full:.3f} s ({full_median:.3f} s)")
            row(
                f"N={size}: ratio, per container",
                f"{full / floor:.2f}x, {1000 * full / max(count, 1):.2f} ms",
            )
        for container in started[:ROOT_MOUNTS]:  # the same count, 10 of them mounting /
            container.remove(force=True)
        started = started[ROOT_MOUNTS:]
        start(client, image, started, len(started) + ROOT_MOUNTS, volumes=["/:/host:ro"])
        _timed(audit)
        (floor, _fm, seen), (full, full_median, _) = _best(floor_cmd, audit)
        label = f"N={len(started)} with {ROOT_MOUNTS} mounting /"
        row(
            f"{label}: floor, harden best (median)",
            f"{floor:.3f} s, {full:.3f} s ({full_median:.3f} s)",
        )
        row(f"{label}: ratio (aim: under 2.5x)", f"{full / floor:.2f}x")
    finally:
        for container in started:
            container.remove(force=True)
        client.images.remove(image, force=True)
        shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    main()
