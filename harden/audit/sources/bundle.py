"""A bundle from ``harden generate`` -> the container its forms would create -> facts.

The bundle's own files say how the workload runs: the capability plan, the seccomp
profile (judged from its JSON, as the engine would load it), the spec's user,
read-only root, no-new-privileges, resources and devices, and the LSM profiles when
they were generated. Read through the same inspect-shaped path as compose services;
each fact gets the line of its key in the bundle's ``spec.yaml``. How the bundle is
deployed (restart policy, health check) is not in it: those facts are unavailable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harden.audit.sources.docker import declared as declared_layer
from harden.audit.sources.docker.fields import EngineDefaults
from harden.audit.sources.located import (
    DEFAULT_MASKED_PATHS,
    DEFAULT_READONLY_PATHS,
    no_effective_layer,
)
from harden.audit.state.model import (
    Fact,
    Layer,
    LayerBuilder,
    SourceKind,
    TargetKind,
    TargetState,
    build_state,
)
from harden.generate.reader import read_bundle
from harden.layers.interface import layer_name
from harden.system.yaml import load_single, read_text

SPEC_KEYS: dict[str, tuple[str, ...]] = {
    "user": ("user",),
    "caps": ("capabilities",),
    "privileged": ("capabilities",),
    "seccomp": ("syscalls",),
    "no_new_privs": ("no_new_privileges",),
    "rootfs": ("read_only_rootfs",),
    "resources.memory": ("resources", "memory"),
    "resources.cpu_millis": ("resources", "cpus"),
    "resources.pids": ("resources", "pids"),
    "devices": ("devices",),
    "apparmor": ("name",),
    "selinux": ("name",),
}


def _inspect_object(path: Path, name: str) -> dict[str, Any]:
    bundle = read_bundle(path)
    spec = bundle.spec
    seccomp = read_text(path / "seccomp.json", what="seccomp profile")
    security = [f"seccomp={seccomp}"]
    if spec.no_new_privileges:
        security.append("no-new-privileges")
    name = layer_name(spec)  # what generate named the LSM profiles (dots and _ as -)
    if (path / "apparmor.profile").is_file():
        security.append(f"apparmor={name}")
    if (path / f"{name}.cil").is_file():
        security.append(f"label=type:{name}.process")
    resources = spec.resources
    host_config = {
        "CapAdd": list(bundle.caps.keep),
        "CapDrop": ["ALL"],
        "SecurityOpt": security,
        "ReadonlyRootfs": spec.read_only_rootfs,
        "Memory": int(resources.memory or 0),
        "NanoCpus": int((resources.cpus or 0) * 1e9),
        "PidsLimit": resources.pids or 0,
        "Devices": [
            {"PathOnHost": d.path, "PathInContainer": d.path, "CgroupPermissions": d.access}
            for d in spec.devices
        ],
        "MaskedPaths": list(DEFAULT_MASKED_PATHS),
        "ReadonlyPaths": list(DEFAULT_READONLY_PATHS),
        "NetworkMode": "none" if not spec.network.uses_ip else "",
    }
    config = {"User": f"{bundle.caps.uid}:{bundle.caps.gid}", "Image": "", "Labels": {}}
    return {"Id": name, "Name": "/" + name, "Config": config, "HostConfig": host_config}


def target(path: Path) -> TargetState:
    spec_file = path / "spec.yaml"
    doc = load_single(spec_file, what="workload spec")
    name = f"bundle/{doc.data.get('name', path.name)}"
    collected = declared_layer.collect(_inspect_object(path, name), str(path), EngineDefaults())
    layer = LayerBuilder(Layer.DECLARED)
    for fact_path, fact in collected.facts.items():
        key = SPEC_KEYS.get(fact_path) or SPEC_KEYS.get(fact_path.split(".")[0])
        line = doc.line_of(key) if key else None
        origin = f"{spec_file}: {'.'.join(key)}" if key else f"{path}: bundle"
        layer.facts[fact_path] = Fact(fact.value, origin, line)
    layer.gaps.update(collected.gaps)
    for missing in ("restart.policy", "restart.max_retries", "healthcheck.configured"):
        layer.facts.pop(missing, None)
        layer.unavailable(missing, "how the bundle is deployed is not in it")
    return build_state(
        TargetKind.CONTAINER,
        name,
        name,
        SourceKind.BUNDLE,
        layer,
        no_effective_layer(),
        file=str(spec_file),
        line=1,
    )
