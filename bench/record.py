"""Recording and proving (issue 4): tracing overhead, and for each real workload how
tight its recorded, proven bundle is against the engine's default profile."""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import header, row

if TYPE_CHECKING:
    from tests.workloads import Workload

PREFIX = "harden-bench-"
# redis-benchmark --csv: one line per test, "SET","53619.03",... (no progress lines, so
# the recorder's captured output tail holds every figure even when tracing slows it)
_RPS = re.compile(r'^"(?P<test>[A-Z]+)","(?P<rps>[\d.]+)"', re.MULTILINE)
_TPS = re.compile(r"^tps = (?P<tps>[\d.]+)", re.MULTILINE)


def _busybox_image(client: Any, folder: Path) -> str:
    """The busybox web root image of the tests, without the syscall probe."""
    root = folder / "rootfs"
    for sub in ("bin", "etc", "srv/www", "tmp", "proc", "sys", "dev"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    busybox = shutil.which("busybox")
    assert busybox is not None, "busybox-static is needed (make test installs it)"
    shutil.copy2(busybox, root / "bin" / "busybox")
    for applet in ("sh", "httpd", "wget", "grep", "cat"):
        (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(
        "root:x:0:0::/:/bin/sh\nwww:x:101:101::/srv/www:/bin/false\n"
    )
    (root / "etc" / "group").write_text("root:x:0:\nwww:x:101:\n")
    (root / "srv" / "www" / "index.html").write_text("hello from harden\n")
    tar = folder / "busybox.tar"
    with tarfile.open(tar, "w") as handle:
        handle.add(root, arcname=".")
    from tests.images import import_image

    return import_image(client, tar, f"{PREFIX}busybox-{uuid.uuid4().hex[:8]}")


def _rps(output: str) -> dict[str, float]:
    return {m["test"]: float(m["rps"]) for m in _RPS.finditer(output)}


def _tps(output: str) -> dict[str, float]:
    found = _TPS.search(output)
    return {"TPS": float(found["tps"])} if found else {}


Runs = dict[str, list[dict[str, float]]]


def _measure(client: Any, image: str, load: Workload, work: Path,
             parse: Callable[[str], dict[str, float]]) -> Runs:  # fmt: skip
    """The load's figures untraced and while recorded (eBPF, strace), runs interleaved in
    turns on one running container so that drift hits every mode alike."""
    from harden.runtime.container import Where, remove, run_client, wait_ready
    from harden.runtime.record.backend import Backend
    from harden.runtime.record.containers import record_container
    from harden.runtime.record.recorder import RecordOptions

    name = f"{PREFIX}{uuid.uuid4().hex[:10]}"
    box = client.containers.run(image, list(load.command), user=load.user, detach=True,
                                network_mode="none", name=name)  # fmt: skip
    runs: Runs = {"untraced": [], "ebpf": [], "strace": []}
    try:
        assert wait_ready(box, {(load.port, "tcp")}, 60) is None
        if load.ready:
            run_client(client, box, f"until {load.ready}; do sleep 0.2; done", image=image,
                       where=Where.CONTAINER, prefix=PREFIX, timeout=60)  # fmt: skip
        if load.name == "postgresql":
            run_client(client, box, "pgbench -h 127.0.0.1 -U postgres -i -s 4 -q postgres",
                       where=Where.CONTAINER, image=image, prefix=PREFIX, timeout=300)  # fmt: skip
        for turn in range(3):
            for mode in ("untraced", "ebpf") + (("strace",) if turn == 0 else ()):
                if mode == "untraced":
                    out = run_client(client, box, load.throughput, where=Where.CONTAINER,
                                     image=image, prefix=PREFIX, timeout=600).output  # fmt: skip
                else:
                    opts = RecordOptions(work=work / f"{load.name}-{mode}-{turn}",
                                         exercise=load.throughput, prefix=PREFIX,
                                         backend=Backend(mode))  # fmt: skip
                    opts.work.mkdir()
                    recording = record_container(client, box.name, opts)
                    assert recording.exercise is not None
                    out = recording.exercise.output
                runs[mode].append(parse(out))
    finally:
        remove(box)
    return runs


def overhead(client: Any, images: dict[str, str], work: Path) -> None:
    """Throughput of redis (redis-benchmark) and PostgreSQL (pgbench) untraced and while
    harden record records them, best of three turns each."""
    from tests.workloads import POSTGRES, REDIS

    for load, parse, tests in ((REDIS, _rps, ("SET", "GET")), (POSTGRES, _tps, ("TPS",))):
        runs = _measure(client, images[load.name], load, work, parse)
        for test in tests:
            best = {mode: max((r.get(test, 0.0) for r in rs), default=0.0)
                    for mode, rs in runs.items()}  # fmt: skip
            unit = "tps" if test == "TPS" else "req/s"
            row(f"{load.name} {test} untraced", f"{best['untraced']:,.0f} {unit}")
            for mode in ("ebpf", "strace"):
                cost = 1 - best[mode] / best["untraced"] if best["untraced"] else float("nan")
                row(f"{load.name} {test} recorded with {mode}",
                    f"{best[mode]:,.0f} {unit} ({cost:+.1%} slower)")  # fmt: skip


def _harden(*args: str | Path) -> Any:
    from click.testing import CliRunner

    from harden.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _learnt(client: Any, image: str, load: Workload, spec: Path, work: Path) -> str:
    """What harden learn adds after the heavy load ran under the complain-mode bundle."""
    from harden.generate.reader import read_bundle
    from harden.runtime.container import Where, remove, run_client, wait_ready
    from harden.runtime.prove.attempt import BUNDLE, ProveTarget, run_options

    bundle = work / f"{load.name}-complain"
    _harden("generate", spec, "-o", bundle, "-q", "--complain")
    target = ProveTarget(read_bundle(bundle), image, load.check)
    name = f"{PREFIX}{uuid.uuid4().hex[:10]}"
    box = client.containers.run(image, list(load.command), name=name, network_mode="none",
                                detach=True, **run_options(target, BUNDLE))  # fmt: skip
    try:
        wait_ready(box, {(load.port, "tcp")}, 60)
        for command in (load.ready and f"until {load.ready}; do sleep 0.2; done",
                        load.load or load.check):  # fmt: skip
            if command:
                run_client(client, box, command, where=Where.CONTAINER, image=image,
                           prefix=PREFIX, timeout=900)  # fmt: skip
        copy = work / f"{load.name}-learnt.yaml"
        copy.write_text(spec.read_text())
        result = _harden("learn", bundle, "--container", name, "--write", copy)
    finally:
        remove(box)
    added = re.search(r"added (?P<what>.+)", result.output)
    if result.exit_code != 0:
        return f"learn exit {result.exit_code}"
    return added["what"] if added else "nothing"


def _how_found(spec: Path) -> str:
    text = spec.read_text()
    found = sorted(set(re.findall(r"the kernel checked CAP_([A-Z_]+) and granted it", text)))
    return f"kernel checks: {', '.join(found)}" if found else "no capability check seen"


def workloads(client: Any, images: dict[str, str], work: Path) -> None:
    from harden.kernel.syscalls import Arch
    from harden.layers.seccomp.build import allowed_names
    from harden.runtime.engine_default import engine_default
    from tests.workloads import ALL, PRODUCTION

    label, default = engine_default(client)
    engine = len(allowed_names(default, Arch.X86_64, frozenset()))
    row("engine default profile", f"{label}: {engine} x86_64 syscalls")
    print(f"  {'workload':<14} {'x86_64 (ours/engine)':<21} {'caps: recorded -> kept':<44} "
          "prove (heavy load, no silent denial) / learn added")  # fmt: skip
    for load in (*ALL, *PRODUCTION):
        image = images[load.name]
        spec, bundle, minimal, final = (work / f"{load.name}{s}" for s in (
            ".yaml", "-bundle", "-min.yaml", "-final"))  # fmt: skip
        user = ["--user", load.user] if load.user else []
        ready = ["--ready", load.ready] if load.ready else []
        start = time.monotonic()
        _harden("record", "-o", spec, "--image", image, "--exercise", load.exercise,
                "--container-prefix", PREFIX, *user, *ready, "--", *load.command)  # fmt: skip
        _harden("generate", spec, "-o", bundle, "-q")
        target = ["--image", image, "--check", load.check, "--check-timeout", "60s",
                  "--container-prefix", PREFIX, *ready]  # fmt: skip
        _harden("minimize-caps", bundle, *target, "--write-spec", minimal, "--", *load.command)
        _harden("generate", minimal, "-o", final, "-q")
        heavy = ["--load", load.load, "--restart"] if load.load else []
        proof = _harden("prove", final, *target, *heavy, "--audit-denials", "--",
                        *load.command)  # fmt: skip
        manifest = json.loads((final / "manifest.json").read_text())
        ours = manifest["seccomp"]["allowed_syscalls"]["x86_64"]
        caps = f"{_how_found(spec)} -> {', '.join(manifest['capabilities']) or 'none'}"
        verdict = "PASS" if proof.exit_code == 0 else f"FAIL ({proof.exit_code})"
        learnt = _learnt(client, image, load, minimal, work)
        print(f"  {load.name:<14} {f'{ours} / {engine}':<21} {caps:<44} {verdict} / "
              f"{learnt}  [{time.monotonic() - start:.0f} s]")  # fmt: skip


def main() -> None:
    from harden.system.engine import docker_client
    from tests.images import import_image, rootfs_tar, with_setup
    from tests.workloads import PRODUCTION, REAL

    header("record and prove (issues 4 and 15)")
    client = docker_client()
    made: list[str] = []
    with tempfile.TemporaryDirectory(prefix="harden-bench-") as tmp:
        work = Path(tmp)
        try:
            images = {"busybox-httpd": _busybox_image(client, work)}
            made.append(images["busybox-httpd"])
            for load in (*REAL, *PRODUCTION):
                tar, built = rootfs_tar(load.packages)
                start = time.monotonic()
                images[load.name] = import_image(client, tar, f"{PREFIX}{load.name}-"
                                                 f"{uuid.uuid4().hex[:8]}")  # fmt: skip
                made.append(images[load.name])
                if load.setup:
                    repo = f"{PREFIX}{load.name}-set-{uuid.uuid4().hex[:6]}"
                    images[load.name] = with_setup(client, images[load.name], load.setup, repo)
                    made.append(images[load.name])
                how = f"built in {built:.0f} s" if built else "cached"
                row(f"{load.name} image ({', '.join(load.packages)})",
                    f"{how}, imported in {time.monotonic() - start:.1f} s")  # fmt: skip
            overhead(client, images, work)
            workloads(client, images, work)
        finally:
            for name in reversed(made):
                client.images.remove(name, force=True)
