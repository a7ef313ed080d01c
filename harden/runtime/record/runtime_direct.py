"""Measuring a runtime's post-filter syscalls by running it directly, without the engine.

crun 1.8 refuses hybrid cgroup hosts (cgroup v1 with a v2 hierarchy at
/sys/fs/cgroup/unified that has a controller) before it looks at its cgroup manager, so
the engine cannot start crun containers here. What crun does after it installs the
seccomp filter does not depend on the engine, though: this module runs
``crun --cgroup-manager=disabled run`` on OCI bundles of the same variants as
:mod:`harden.runtime.record.runtime_base` (root, non-root, no capabilities, ...), each in a
private mount namespace where the v2 hierarchy is unmounted (crun then sees a plain v1
host), under a LOG-everything seccomp profile, and reads the kernel's audit records.
"""

from __future__ import annotations

import json
import platform
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harden.errors import CheckFailed
from harden.kernel import syscalls as sc
from harden.progress import Progress, no_progress, step
from harden.runtime.record.runtime_base import RuntimeMeasurement, _names
from harden.system import tools
from harden.system.kmsg import KernelLog, unlimited_printk

_HIDE_V2 = 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"'


def _user(config: dict[str, Any], uid: int) -> None:
    config["process"]["user"] = {"uid": uid, "gid": uid}


def _caps(config: dict[str, Any], caps: list[str]) -> None:
    config["process"]["capabilities"] = {
        k: list(caps) for k in ("bounding", "effective", "permitted")
    }


def _non_root_with_capability(config: dict[str, Any]) -> None:
    _user(config, 65534)
    _caps(config, ["CAP_NET_BIND_SERVICE"])


# The engine variants that exist without an engine (tty and docker-init need one).
VARIANTS: Mapping[str, Callable[[dict[str, Any]], None]] = {
    "root": lambda c: None,
    "non-root": lambda c: _user(c, 65534),
    "no-capabilities": lambda c: _caps(c, []),
    "non-root-with-capability": _non_root_with_capability,
    "read-only-rootfs": lambda c: c["root"].update(readonly=True),
    "no-new-privileges": lambda c: c["process"].update(noNewPrivileges=True),
    "workdir": lambda c: c["process"].update(cwd="/tmp"),  # noqa: S108 - inside the container
}


def _export(client: Any, image: str, rootfs: Path) -> None:
    """The image's file system, unpacked (the engine's export of a created container)."""
    container = client.containers.create(image, ["true"], network_mode="none")
    try:
        with tempfile.TemporaryFile() as spool:
            for chunk in container.export():
                spool.write(chunk)
            spool.seek(0)
            with tarfile.open(fileobj=spool) as tar:
                tar.extractall(rootfs, filter="tar")
    finally:
        container.remove(force=True)


def _template(binary: str, folder: Path) -> dict[str, Any]:
    done = tools.run([binary, "spec"], cwd=folder, timeout=60)
    if not done.ok:
        raise CheckFailed(f"{binary} spec could not write an OCI config: {done.problem()}")
    config: dict[str, Any] = json.loads((folder / "config.json").read_text())
    arches = [a.scmp_name for n in sc.NATIVE_ARCHES for a in (n, *sc.SUB_ARCHES[n])]
    config["process"].update(args=["true"], terminal=False, noNewPrivileges=False)
    config["root"] = {"path": "rootfs", "readonly": False}
    config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_LOG", "architectures": arches}
    return config


def _run(binary: str, runtime: str, bundle: Path, prefix: str) -> None:
    name = f"{prefix}measure-{uuid.uuid4().hex[:10]}"
    manager = ["--cgroup-manager=disabled"] if runtime == "crun" else []
    argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _HIDE_V2, "sh",
            binary, *manager, "run", "--bundle", str(bundle), name]  # fmt: skip
    done = tools.run(argv, timeout=60)
    tools.run([binary, "delete", "--force", name], timeout=60)
    if not done.ok:
        raise CheckFailed(
            f"{runtime} could not run the measuring container: {done.problem()[-500:]}"
        )


def measure_direct(
    client: Any,
    image: str,
    runtime: str,
    rounds: int = 3,
    progress: Progress = no_progress,
    *,
    prefix: str = "harden-",
) -> RuntimeMeasurement:
    """Run the variants ``rounds`` times each with the runtime itself, no engine."""
    binary = tools.require(runtime)
    native = sc.Arch.X86_64 if platform.machine() == "x86_64" else sc.Arch.AARCH64
    seen: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory(prefix="harden-measure-") as tmp:
        bundle = Path(tmp)
        (bundle / "rootfs").mkdir()
        _export(client, image, bundle / "rootfs")
        template = _template(binary, bundle)
        with unlimited_printk():
            for variant, change in VARIANTS.items():
                for round_ in range(rounds):
                    step(progress, f"{runtime} (direct): {variant} ({round_ + 1}/{rounds})")
                    config = json.loads(json.dumps(template))
                    change(config)
                    (bundle / "config.json").write_text(json.dumps(config))
                    with KernelLog() as log:
                        _run(binary, runtime, bundle, prefix)
                        records = list(log.records())
                    for name in _names(records, native):
                        seen.setdefault(name, set()).add(variant)
    version = tools.run([binary, "--version"], timeout=60).stdout.decode(errors="replace")
    first = version.splitlines()[0] if version else runtime
    return RuntimeMeasurement(
        runtime,
        first.removeprefix(f"{runtime} version ").strip(),
        "",
        platform.release(),
        rounds,
        {k: tuple(sorted(v)) for k, v in sorted(seen.items())},
        tuple(VARIANTS),
        direct=True,
    )
