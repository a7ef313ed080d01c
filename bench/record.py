"""Recording and proving (issue 4): tracing overhead, and for each real workload how
tight its recorded, proven bundle is against the engine's default profile."""

from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import header, row

PREFIX = "harden-bench-"
# redis-benchmark --csv: one line per test, "SET","53619.03",... (no progress lines, so
# the recorder's captured output tail holds every figure even when tracing slows it)
_RPS = re.compile(r'^"(?P<test>[A-Z]+)","(?P<rps>[\d.]+)"', re.MULTILINE)


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


def overhead(client: Any, image: str, work: Path) -> None:
    """redis-benchmark throughput against a redis container, untraced and traced."""
    from harden.runtime.container import Where, remove, run_client, wait_ready
    from harden.runtime.record.containers import record_container
    from harden.runtime.record.recorder import RecordOptions
    from tests.workloads import REDIS

    name = f"{PREFIX}{uuid.uuid4().hex[:10]}"
    box = client.containers.run(image, list(REDIS.command), user=REDIS.user, detach=True,
                                network_mode="none", name=name)  # fmt: skip
    try:
        assert wait_ready(box, {(REDIS.port, "tcp")}, 30) is None
        plain = [_rps(run_client(client, box, REDIS.throughput, where=Where.CONTAINER,
                                 image=image, prefix=PREFIX, timeout=300).output)
                 for _ in range(2)]  # fmt: skip
        traced = []
        for i in range(2):
            opts = RecordOptions(work=work / f"t{i}", exercise=REDIS.throughput, prefix=PREFIX)
            opts.work.mkdir()
            recording = record_container(client, box.name, opts)
            assert recording.exercise is not None
            traced.append(_rps(recording.exercise.output))
    finally:
        remove(box)
    for test in ("SET", "GET"):
        best_plain = max(r.get(test, 0.0) for r in plain)
        best_traced = max(r.get(test, 0.0) for r in traced)
        row(f"redis {test} untraced (redis-benchmark -c 8)", f"{best_plain:,.0f} req/s")
        slowdown = best_plain / best_traced if best_traced else float("inf")
        row(f"redis {test} while harden record traces it", f"{best_traced:,.0f} req/s "
            f"({slowdown:.1f}x slower)")  # fmt: skip


def workloads(client: Any, images: dict[str, str], work: Path) -> None:
    from click.testing import CliRunner

    from harden.cli import cli
    from harden.kernel.capabilities import DOCKER_DEFAULT
    from harden.kernel.syscalls import Arch
    from harden.layers.seccomp.build import allowed_names
    from harden.layers.seccomp.builtin import resolve
    from tests.workloads import ALL

    _, default = resolve("docker-default")
    engine = len(allowed_names(default, Arch.X86_64, DOCKER_DEFAULT))

    def harden(*args: str | Path) -> Any:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    print(f"  {'workload':<15} {'x86_64 syscalls (ours / default)':<34} {'caps kept':<26} prove")
    for load in ALL:
        image = images[load.name]
        spec, bundle, minimal, final = (work / f"{load.name}{s}" for s in (
            ".yaml", "-bundle", "-min.yaml", "-final"))  # fmt: skip
        user = ["--user", load.user] if load.user else []
        start = time.monotonic()
        harden("record", "-o", spec, "--image", image, "--exercise", load.exercise,
               "--container-prefix", PREFIX, *user, "--", *load.command)  # fmt: skip
        harden("generate", spec, "-o", bundle, "-q")
        target = ["--image", image, "--check", load.check, "--check-timeout", "8s",
                  "--container-prefix", PREFIX]  # fmt: skip
        harden("minimize-caps", bundle, *target, "--write-spec", minimal, "--", *load.command)
        harden("generate", minimal, "-o", final, "-q")
        proof = harden("prove", final, *target, "--", *load.command)
        import json

        manifest = json.loads((final / "manifest.json").read_text())
        ours = manifest["seccomp"]["allowed_syscalls"]["x86_64"]
        caps = ", ".join(manifest["capabilities"]) or "none"
        verdict = "PASS" if proof.exit_code == 0 else f"FAIL ({proof.exit_code})"
        print(f"  {load.name:<15} {f'{ours} / {engine}':<34} {caps:<26} {verdict}"
              f"  [{time.monotonic() - start:.0f} s]")  # fmt: skip


def main() -> None:
    from harden.system.engine import docker_client
    from tests.images import import_image, rootfs_tar
    from tests.workloads import REAL

    header("record and prove (issue 4)")
    client = docker_client()
    made: list[str] = []
    with tempfile.TemporaryDirectory(prefix="harden-bench-") as tmp:
        work = Path(tmp)
        try:
            images = {"busybox-httpd": _busybox_image(client, work)}
            made.append(images["busybox-httpd"])
            for load in REAL:
                tar, built = rootfs_tar(load.packages)
                start = time.monotonic()
                images[load.name] = import_image(client, tar, f"{PREFIX}{load.name}-"
                                                 f"{uuid.uuid4().hex[:8]}")  # fmt: skip
                made.append(images[load.name])
                how = f"built in {built:.0f} s" if built else "cached"
                row(f"{load.name} image ({', '.join(load.packages)})",
                    f"{how}, imported in {time.monotonic() - start:.1f} s")  # fmt: skip
            overhead(client, images["redis"], work)
            workloads(client, images, work)
        finally:
            for name in made:
                client.images.remove(name, force=True)
