"""Reading a bundle directory back, as ``harden generate`` wrote it or as edited since.

One set of parsers, two readings of the same files:

- :func:`read_bundle`: what running and proving a bundle needs (manifest, spec,
  capability plan, seccomp profile); a file that cannot be read is an error.
- :func:`read_layers`: every layer, for the cross-layer checks, read tolerantly: a layer
  that is missing or unreadable is ``None`` (its checks are skipped; ``harden verify``
  reports the file itself through its checker).

Each layer's file goes through that layer's own parser: the seccomp JSON loader, the
AppArmor parser into the AppArmor model, the CIL reader for the SELinux module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from harden.errors import HardenError, InputError
from harden.generate.bundle import BUNDLE_KIND, MANIFEST
from harden.generate.files import SPEC_FILE
from harden.layers.apparmor.model import AppArmorProfile
from harden.layers.apparmor.parse import AppArmorSyntaxError, parse
from harden.layers.apparmor.render import APPARMOR_FILE
from harden.layers.caps.build import build_capabilities
from harden.layers.caps.model import CapabilityPlan
from harden.layers.caps.parse import parse_capabilities
from harden.layers.caps.render import CAPS_FILE
from harden.layers.seccomp.model import Profile
from harden.layers.seccomp.parse import load_profile
from harden.layers.seccomp.render import SECCOMP_FILE
from harden.layers.selinux.cil import BlockFact, CilSyntaxError, blocks
from harden.layers.selinux.render import BLOCKS_FILE
from harden.profile.loader import load_spec
from harden.profile.spec import WorkloadSpec
from harden.system.yaml import load_json, load_single, read_text

FORM_FILES = ("compose.yaml", "k8s-container.yaml", "k8s-pod.yaml", "oci-config.json")
DOCKER_RUN_FILE = "docker-run.txt"
_T = TypeVar("_T")


@dataclass(frozen=True)
class BundleOnDisk:
    """The layers a bundle runs with, read strictly."""

    path: Path
    manifest: dict[str, Any]
    spec: WorkloadSpec
    caps: CapabilityPlan
    seccomp: Profile
    modified: tuple[str, ...]  # files whose digest differs from the manifest (hand-edited)

    def file(self, name: str) -> Path:
        return self.path / name


@dataclass(frozen=True)
class IdMapping:
    container: int
    host: int
    size: int


@dataclass(frozen=True)
class BundleLayers:
    """Every layer of a bundle, read tolerantly: ``None`` where a layer is missing or
    unreadable."""

    path: Path
    spec: WorkloadSpec | None = None
    caps: frozenset[str] | None = None
    seccomp: Profile | None = None
    apparmor: AppArmorProfile | None = None
    selinux: BlockFact | None = None
    uid_mappings: tuple[IdMapping, ...] | None = None
    gid_mappings: tuple[IdMapping, ...] | None = None
    forms: Mapping[str, Any] = field(default_factory=dict)


def read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise InputError(
            f"{path}: not a directory", hint="give the directory harden generate wrote"
        )
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise InputError(
            f"{path}: no {MANIFEST}; not a harden bundle",
            hint="generate one with: harden generate SPEC -o DIR",
        )
    manifest = load_json(manifest_path, what="bundle manifest")
    if not isinstance(manifest, dict) or manifest.get("kind") != BUNDLE_KIND:
        raise InputError(f"{manifest_path}: not a harden bundle manifest")
    return manifest


def modified_files(path: Path, manifest: dict[str, Any]) -> tuple[str, ...]:
    changed = []
    for name, digest in sorted(manifest.get("files", {}).items()):
        if name == MANIFEST:
            continue
        file = path / name
        if not file.is_file() or hashlib.sha256(file.read_bytes()).hexdigest() != digest:
            changed.append(name)
    return tuple(changed)


def read_capabilities(path: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """The names (in kernel order) and reasons of a capabilities.json, which may be
    hand-edited: every name must be a capability of the kernel's table."""
    return parse_capabilities(load_json(path, what="capability plan"), str(path))


def _capability_plan(path: Path, spec: WorkloadSpec) -> CapabilityPlan:
    """The capability plan as the bundle states it; the spec's when the file is missing."""
    file = path / CAPS_FILE
    if not file.is_file():
        return build_capabilities(spec)
    keep, reasons = read_capabilities(file)
    return CapabilityPlan(keep, reasons, spec.user.uid, spec.user.gid)


def read_bundle(path: Path) -> BundleOnDisk:
    """A bundle as written by ``harden generate`` (files may have been edited since)."""
    manifest = read_manifest(path)
    spec = load_spec(path / SPEC_FILE).spec
    profile = load_profile(path / SECCOMP_FILE)
    caps = _capability_plan(path, spec)
    return BundleOnDisk(path, manifest, spec, caps, profile, modified_files(path, manifest))


def _tolerant(read: Callable[[Path], _T], path: Path) -> _T | None:
    """``read(path)``, or None when the file is missing or cannot be read."""
    if not path.is_file():
        return None
    try:
        return read(path)
    except (HardenError, AppArmorSyntaxError, CilSyntaxError):
        return None


def _apparmor(path: Path) -> AppArmorProfile:
    return parse(read_text(path, what="AppArmor profile"))


def _selinux(path: Path) -> BlockFact | None:
    """The workload's block: the first block of the module that is not abstract."""
    found = [b for b in blocks(read_text(path, what="SELinux module")) if not b.abstract]
    return found[0] if found else None


def _mappings(doc: Any, key: str) -> tuple[IdMapping, ...] | None:
    linux = doc.get("linux") if isinstance(doc, dict) else None
    entries = linux.get(key) if isinstance(linux, dict) else None
    if not isinstance(entries, list):
        return None
    out = []
    for e in entries:
        if isinstance(e, dict) and all(
            isinstance(e.get(k), int) for k in ("containerID", "hostID")
        ):
            out.append(IdMapping(e["containerID"], e["hostID"], int(e.get("size", 0))))
    return tuple(out)


def _form(path: Path) -> Any:
    if path.suffix == ".json":
        return load_json(path, what="bundle form")
    return load_single(path, what="bundle form").data


def read_layers(path: Path) -> BundleLayers:
    """Everything the cross-layer checks compare, from the bundle at ``path``."""
    modules = [p for p in sorted(path.glob("*.cil")) if p.name != BLOCKS_FILE]
    caps = _tolerant(read_capabilities, path / CAPS_FILE)
    forms: dict[str, Any] = {name: _tolerant(_form, path / name) for name in FORM_FILES}
    forms[DOCKER_RUN_FILE] = _tolerant(read_text, path / DOCKER_RUN_FILE)
    oci = forms["oci-config.json"]
    return BundleLayers(
        path=path,
        spec=_tolerant(lambda p: load_spec(p).spec, path / SPEC_FILE),
        caps=frozenset(caps[0]) if caps is not None else None,
        seccomp=_tolerant(load_profile, path / SECCOMP_FILE),
        apparmor=_tolerant(_apparmor, path / APPARMOR_FILE),
        selinux=_tolerant(_selinux, modules[0]) if modules else None,
        uid_mappings=_mappings(oci, "uidMappings"),
        gid_mappings=_mappings(oci, "gidMappings"),
        forms=forms,
    )
