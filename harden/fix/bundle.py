"""What ``harden fix --bundle`` takes from a bundle: its compose and Kubernetes forms,
and its seccomp profile, copied beside the fixed file.

Compose reads ``seccomp:FILE`` relative to the compose file, so the profile goes beside
it as ``<workload>.seccomp.json``. A Kubernetes ``Localhost`` profile is a path under
each node's kubelet seccomp directory; the copy goes beside the manifest under that same
relative path (``harden/<workload>.json``), ready to install on the nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harden.audit.state.model import SourceKind
from harden.errors import InputError
from harden.generate.reader import read_bundle
from harden.system.yaml import load_single, read_text

KUBELET_SECCOMP = "/var/lib/kubelet/seccomp"


@dataclass(frozen=True)
class BundleFix:
    compose: dict[str, Any]  # the service keys of the bundle's compose.yaml
    kubernetes: dict[str, Any]  # the container of the bundle's k8s-container.yaml
    seccomp: bytes
    seccomp_path: Path  # the bundle's own profile
    copy_to: Path  # where its copy goes
    reference: str  # how the fixed file names the copy (compose: ./web.seccomp.json)
    notes: tuple[str, ...]


def read_bundle_fix(folder: Path, target: Path, kind: SourceKind) -> BundleFix:
    bundle = read_bundle(folder)  # a bundle harden wrote: refuses anything else
    name = bundle.spec.name
    seccomp_path = bundle.file("seccomp.json").resolve()
    seccomp = read_text(seccomp_path, what="seccomp profile").encode()
    compose_form = load_single(bundle.file("compose.yaml"), what="compose form").data
    service = compose_form.get("services", {}).get(name)
    container = load_single(bundle.file("k8s-container.yaml"), what="Kubernetes form").data
    if not isinstance(service, dict) or not isinstance(container, dict):
        raise InputError(f"{folder}: its compose or Kubernetes form is not harden's")
    notes: list[str] = []
    if kind is SourceKind.COMPOSE:
        copy_to = target.parent / f"{name}.seccomp.json"
        reference = f"./{copy_to.name}"
    else:
        reference = str(
            container.get("securityContext", {})
            .get("seccompProfile", {})
            .get("localhostProfile", f"harden/{name}.json")
        )
        copy_to = target.parent / reference
        notes.append(
            f"install {copy_to} on every node as {KUBELET_SECCOMP}/{reference} "
            "(the seccompProfile names it there)"
        )
    apparmor = bundle.file("apparmor.profile")
    if apparmor.is_file():
        notes.append(f"load the AppArmor profile on every host: apparmor_parser -r -W {apparmor}")
    if any(bundle.path.glob("harden-*.cil")):
        notes.append(f"install the SELinux module from {folder} (see its README.txt)")
    return BundleFix(service, container, seccomp, seccomp_path, copy_to, reference, tuple(notes))
