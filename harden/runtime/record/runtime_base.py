"""Measuring the syscalls a container runtime makes after it installs the seccomp filter.

runc (Go) and crun keep running between seccomp(2) and execve(2) of the entrypoint; a
profile that lacks those calls fails to start the container (exit 125). We start a
trivial container under a profile whose default action is LOG, in several
configurations (root, non-root, no capabilities, read-only rootfs, ...), and collect
from the kernel log every call made by the container's first process before it became
the entrypoint.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harden.kernel import syscalls as sc
from harden.progress import Progress, no_progress, step
from harden.runtime.container import unique_name
from harden.system.kmsg import KernelLog, SeccompRecord, unlimited_printk

VARIANTS: Mapping[str, Mapping[str, Any]] = {
    "root": {},
    "non-root": {"user": "65534:65534"},
    "no-capabilities": {"cap_drop": ["ALL"]},
    "non-root-with-capability": {
        "user": "65534:65534",
        "cap_drop": ["ALL"],
        "cap_add": ["NET_BIND_SERVICE"],
    },
    "read-only-rootfs": {"read_only": True},
    "no-new-privileges": {"security_opt": ["no-new-privileges"]},
    "workdir": {"working_dir": "/tmp"},  # noqa: S108 - a path inside the container
    "tty": {"tty": True},
    "init": {"init": True},
}

_LOG_EVERYTHING = {
    "defaultAction": "SCMP_ACT_LOG",
    "archMap": [
        {"architecture": a.scmp_name, "subArchitectures": [s.scmp_name for s in sc.SUB_ARCHES[a]]}
        for a in sc.NATIVE_ARCHES
    ],
    "syscalls": [],
}
_ENTRYPOINT = "true"
_WORKLOAD_COMMS = frozenset({_ENTRYPOINT, "docker-init"})


@dataclass(frozen=True)
class RuntimeMeasurement:
    runtime: str
    runtime_version: str
    engine_version: str
    kernel: str
    rounds: int
    seen: Mapping[str, tuple[str, ...]]  # syscall -> variants it was seen in
    variants: tuple[str, ...] = tuple(VARIANTS)
    direct: bool = False  # run by harden itself (no engine): see runtime_direct


def _names(records: list[SeccompRecord], native: sc.Arch) -> set[str]:
    """Calls of the container's processes made before they became a workload binary."""
    pids = {r.pid for r in records if r.comm in _WORKLOAD_COMMS}
    names: set[str] = set()
    for rec in records:
        if rec.pid in pids and rec.comm not in _WORKLOAD_COMMS and rec.arch == native.audit_arch:
            names.add(sc.table(native).get(rec.nr) or f"nr{rec.nr}")
    return names


def measure(
    client: Any,
    image: str,
    runtime: str,
    rounds: int = 3,
    progress: Progress = no_progress,
    *,
    prefix: str = "harden-",
) -> RuntimeMeasurement:
    """Run the variants ``rounds`` times each and collect the runtime's calls (each
    container named ``<prefix>measure-<random>``)."""
    native = sc.Arch.X86_64 if platform.machine() == "x86_64" else sc.Arch.AARCH64
    seen: dict[str, set[str]] = {}
    profile = json.dumps(_LOG_EVERYTHING)
    with unlimited_printk():
        for variant, options in VARIANTS.items():
            for round_ in range(rounds):
                step(progress, f"{runtime}: {variant} ({round_ + 1}/{rounds})")
                opts = dict(options)
                opts["security_opt"] = [*opts.get("security_opt", []), f"seccomp={profile}"]
                with KernelLog() as log:
                    client.containers.run(
                        image,
                        [_ENTRYPOINT],
                        remove=True,
                        name=unique_name(prefix, "measure"),
                        network_mode="none",
                        runtime=runtime,
                        **opts,
                    )
                    records = list(log.records())
                for name in _names(records, native):
                    seen.setdefault(name, set()).add(variant)
    info = client.version()
    versions = {c.get("Name"): c.get("Version", "") for c in info.get("Components", [])}
    runtime_version = versions.get(runtime, "") or _runtime_version(client, runtime)
    return RuntimeMeasurement(
        runtime,
        runtime_version,
        info.get("Version", ""),
        platform.release(),
        rounds,
        {k: tuple(sorted(v)) for k, v in sorted(seen.items())},
    )


def _runtime_version(client: Any, runtime: str) -> str:
    runtimes = client.info().get("Runtimes", {})
    return str(runtimes.get(runtime, {}).get("path", runtime))


def to_set_yaml(m: RuntimeMeasurement) -> str:
    """The measurement as a syscall set file for ``profiles/syscalls/``."""
    import yaml  # noqa: PLC0415

    doc = {
        "name": f"runtime-{m.runtime}",
        "description": (
            f"Syscalls {m.runtime} makes after it installs the seccomp filter and before the "
            "entrypoint runs. Measured, not guessed: harden measure-runtime started a trivial "
            "container under a LOG-everything profile in every variant below and read the "
            "kernel's seccomp audit records."
            + (
                f" {m.runtime} was run directly on OCI bundles of those variants (cgroup "
                "manager disabled, in a mount namespace without the cgroup v2 hierarchy), "
                "because the engine cannot start it on this host's hybrid cgroups."
                if m.direct
                else ""
            )
        ),
        "implied_by": [f"runtime:{m.runtime}"],
        "measured": {
            "runtime": f"{m.runtime} {m.runtime_version}".strip(),
            "engine": f"docker {m.engine_version}" if not m.direct else "none (run directly)",
            "kernel": m.kernel,
            "rounds": str(m.rounds),
            "variants": ", ".join(m.variants),
        },
        "syscalls": {
            name: f"{m.runtime} calls it after the filter is installed (seen: {', '.join(v)})"
            for name, v in m.seen.items()
        },
    }
    header = "# Generated by `harden measure-runtime`; re-measure rather than edit by hand.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, width=100)
