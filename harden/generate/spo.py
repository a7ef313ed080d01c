"""security-profiles-operator (SPO) objects for the layers, with SPO's own field names.

API versions are the ones SPO releases serve for these kinds:
``SeccompProfile`` security-profiles-operator.x-k8s.io/v1beta1, ``AppArmorProfile``
v1alpha1 (the ``abstract`` form), ``SelinuxProfile`` and ``RawSelinuxProfile``
v1alpha2. Objects carry no namespace: apply them with ``kubectl apply -n NAMESPACE``.
"""

from __future__ import annotations

import re
from typing import Any

from harden.layers.interface import Unexpressible
from harden.layers.seccomp.model import Profile
from harden.layers.seccomp.render import to_oci_json
from harden.layers.selinux.expand import expanded_body, spo_allow_map
from harden.layers.selinux.model import CilModule
from harden.profile.spec import WorkloadSpec

GROUP = "security-profiles-operator.x-k8s.io"
SECCOMP_API = f"{GROUP}/v1beta1"
APPARMOR_API = f"{GROUP}/v1alpha1"
SELINUX_API = f"{GROUP}/v1alpha2"
LAYER = "security-profiles-operator AppArmorProfile"
# SPO's validation pattern for abstract paths, minus `?` and `@{` (which SPO would read
# as a glob and a variable): literal characters and the * glob only.
SPO_PATH = re.compile(r"^/[a-zA-Z0-9_./*+@ -]*$")


def _object(api: str, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "harden"}},
        "spec": spec,
    }


def seccomp_profile(name: str, profile: Profile) -> dict[str, Any]:
    """``SeccompProfile``: the OCI form of the profile (SPO has no defaultErrnoRet; the
    runtime's default errno for SCMP_ACT_ERRNO is EPERM, which is harden's default)."""
    oci = to_oci_json(profile)
    spec: dict[str, Any] = {
        "defaultAction": oci["defaultAction"],
        "architectures": oci["architectures"],
        "syscalls": oci["syscalls"],
    }
    return _object(SECCOMP_API, "SeccompProfile", name, spec)


def _spo_paths(paths: list[tuple[str, str]]) -> list[str]:
    out = []
    for field, path in paths:
        if not SPO_PATH.match(path) or "@{" in path:
            raise Unexpressible(
                LAYER,
                field,
                f"path {path!r} cannot be written in SPO's abstract form (letters, digits, "
                "'_./+@ -' and the * glob only)",
                hint="rename the path, or drop the SPO objects and install apparmor.profile",
            )
        if path not in out:
            out.append(path)
    return out


def apparmor_profile(name: str, spec: WorkloadSpec, caps: tuple[str, ...]) -> dict[str, Any]:
    """``AppArmorProfile`` in SPO's abstract form (SPO renders the profile text itself)."""
    files, net = spec.files, spec.network
    read = [(f"files.read[{i}]", p) for i, p in enumerate(files.read)]
    read += [(f"devices[{i}].path", d.path) for i, d in enumerate(spec.devices) if d.access == "r"]
    write = [(f"files.write[{i}]", p) for i, p in enumerate(files.write)]
    write += [(f"files.tmpfs[{i}]", p.rstrip("/") + "/**") for i, p in enumerate(files.tmpfs)]
    write += [(f"devices[{i}].path", d.path) for i, d in enumerate(spec.devices) if "w" in d.access]
    execs = [(f"files.exec[{i}]", p) for i, p in enumerate(files.exec)]
    abstract: dict[str, Any] = {}
    if execs:
        abstract["executable"] = {"allowedExecutables": _spo_paths(execs)}
    filesystem: dict[str, Any] = {}
    if read:
        filesystem["readOnlyPaths"] = _spo_paths(read)
    if write:
        filesystem["readWritePaths"] = _spo_paths(write)
    if filesystem:
        abstract["filesystem"] = filesystem
    protocols = {p.protocol for p in net.listen} | {o.protocol for o in net.outbound}
    abstract["network"] = {
        "allowRaw": net.raw_sockets,
        "allowedProtocols": {
            "allowTcp": "tcp" in protocols,
            "allowUdp": "udp" in protocols or bool(net.outbound),
        },
    }
    if caps:
        abstract["capability"] = {"allowedCapabilities": [c.lower() for c in caps]}
    return _object(APPARMOR_API, "AppArmorProfile", name, {"abstract": abstract})


def selinux_profile(module: CilModule) -> dict[str, Any]:
    """``SelinuxProfile``: SPO's allow map over the node's ``container`` template."""
    spec = {
        "inherit": [{"kind": "System", "name": "container"}],
        "allow": spo_allow_map(module),
    }
    return _object(SELINUX_API, "SelinuxProfile", module.name, spec)


def raw_selinux_profile(module: CilModule) -> dict[str, Any]:
    """``RawSelinuxProfile``: harden's block body, self-contained (SPO adds the block)."""
    return _object(SELINUX_API, "RawSelinuxProfile", module.name, {"policy": expanded_body(module)})
