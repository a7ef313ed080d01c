"""Side by side, in one run: this checkout's harden against another commit's.

    .venv/bin/python bench/compare.py [REF]    # default REF: 0a7e89d, before the re-layout

REF is checked out into .cache/bench-REF/ with a virtualenv of its own (built once). Then
both hardens run in turns on the same inputs, so that this machine's drift (tens of
percent within a minute) hits both alike: the host audit of N running containers (the
audit section's busybox containers) and the gate on 1,000 and 10,000 generated manifests
(the gate section's generator), each the best of REPEAT runs after a warm-up. The ratio
new/old is the figure: the re-layout (issue 10) and the gate's conformance and fail-closed
work (issue 11) aim to stay within 1.10.

    HARDEN_BENCH_COMPARE_SIZES=100,300 HARDEN_BENCH_GATE_SIZES=1000,10000
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import audit as audit_bench
from bench import gate as gate_bench
from bench.common import ROOT, VENV_BIN, header, row

DEFAULT_REF = "0a7e89d"
REPEAT = 7


def _old_harden(ref: str) -> Path:
    """REF's harden, installed in a worktree of its own under .cache/ (built once)."""
    folder = ROOT / ".cache" / f"bench-{ref}"
    harden = folder / ".venv" / "bin" / "harden"
    if harden.exists():
        return harden
    if folder.exists():
        shutil.rmtree(folder)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=True)
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), ref], check=True
    )
    subprocess.run([sys.executable, "-m", "venv", str(folder / ".venv")], check=True)
    pip = [str(folder / ".venv" / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "-e", str(folder)], check=True)
    return harden


def _turns(commands: dict[str, list[str]]) -> dict[str, float]:
    """The best time of each command over REPEAT runs taken in turns, each harden with a
    cache directory of its own (sharing one, each would evict the other's rule packs) and
    with its bytecode written, as an installed harden runs."""
    best = dict.fromkeys(commands, float("inf"))
    unset = ("HARDEN_CACHE_DIR", "PYTHONDONTWRITEBYTECODE")
    base = {k: v for k, v in os.environ.items() if k not in unset}
    with tempfile.TemporaryDirectory() as caches:
        envs = {name: {**base, "XDG_CACHE_HOME": f"{caches}/{name}"} for name in commands}
        for name, argv in commands.items():  # warm-up: rule-pack caches, bytecode
            _timed(argv, envs[name])
        for _ in range(REPEAT):
            for name, argv in commands.items():
                best[name] = min(best[name], _timed(argv, envs[name]))
    return best


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"{argv[:3]} failed ({done.returncode}): {done.stderr[-800:]}")
    return elapsed


def _compare(label: str, old: list[str], new: list[str]) -> None:
    best = _turns({"old": old, "new": new})
    row(
        label, f"old {best['old']:.3f} s, new {best['new']:.3f} s: {best['new'] / best['old']:.2f}x"
    )


def _audit(old: Path, new: Path, out: Path) -> None:
    from harden.system.engine import docker_client

    sizes = [int(n) for n in os.environ.get("HARDEN_BENCH_COMPARE_SIZES", "100,300").split(",")]
    client = docker_client()
    image = audit_bench._image(client)
    started: list[Any] = []
    try:
        for size in sizes:
            audit_bench.start(client, image, started, size)
            argv = ["audit", "--format", "json", "-o", str(out), "--fail-on", "never"]
            _compare(f"audit, {size} containers", [str(old), *argv], [str(new), *argv])
    finally:
        for container in started:
            container.remove(force=True)
        client.images.remove(image, force=True)


def _gate(old: Path, new: Path, folder: Path) -> None:
    sizes = [int(n) for n in os.environ.get("HARDEN_BENCH_GATE_SIZES", "1000,10000").split(",")]
    for size in sizes:
        inputs = folder / f"m{size}"
        inputs.mkdir()
        for i in range(size):
            (inputs / f"app-{i:05d}.yaml").write_text(gate_bench.manifest(i))
        argv = ["gate", str(inputs), "--format", "sarif", "-o", str(folder / "out.sarif")]
        _compare(f"gate, {size} manifests", [str(old), *argv], [str(new), *argv])


def main() -> None:
    ref = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_REF
    old, new = _old_harden(ref), VENV_BIN / "harden"
    header(f"side by side: {ref} (old) and this checkout (new), best of {REPEAT} in turns")
    with tempfile.TemporaryDirectory() as tmp:
        _audit(old, new, Path(tmp) / "report.json")
        _gate(old, new, Path(tmp))


if __name__ == "__main__":
    main()
