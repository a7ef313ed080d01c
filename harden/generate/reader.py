"""Reading a bundle directory back: manifest, spec, capability plan and seccomp profile."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harden.errors import FileProblems, InputError, Problem
from harden.generate.bundle import BUNDLE_KIND, MANIFEST
from harden.kernel import capabilities as capmod
from harden.layers.caps.build import CapabilityPlan, build_capabilities
from harden.layers.seccomp.jsonio import load_profile
from harden.layers.seccomp.model import Profile
from harden.profile.loader import load_spec
from harden.profile.spec import WorkloadSpec
from harden.system.yaml import read_text


@dataclass(frozen=True)
class BundleOnDisk:
    path: Path
    manifest: dict[str, Any]
    spec: WorkloadSpec
    caps: CapabilityPlan
    seccomp: Profile
    modified: tuple[str, ...]  # files whose digest differs from the manifest (hand-edited)

    def file(self, name: str) -> Path:
        return self.path / name


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
    try:
        manifest = json.loads(read_text(manifest_path, what="bundle manifest"))
    except json.JSONDecodeError as exc:
        raise FileProblems(
            str(manifest_path), [Problem(f"not valid JSON: {exc.msg}", line=exc.lineno)]
        ) from None
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


def _read_caps(path: Path, spec: WorkloadSpec) -> CapabilityPlan:
    """The capability plan as the bundle states it (capabilities.json may be hand-edited)."""
    if not path.is_file():
        return build_capabilities(spec)
    source = str(path)
    try:
        doc = json.loads(read_text(path, what="capability plan"))
    except json.JSONDecodeError as exc:
        raise FileProblems(
            source, [Problem(f"not valid JSON: {exc.msg}", line=exc.lineno)]
        ) from None
    add = doc.get("add") if isinstance(doc, dict) else None
    if not isinstance(add, list):
        raise FileProblems(source, [Problem("'add' must be a list of capability names", "add")])
    keep = []
    for i, name in enumerate(add):
        canonical = capmod.normalise(name) if isinstance(name, str) else None
        if canonical is None:
            raise FileProblems(source, [Problem(f"unknown capability {name!r}", f"add[{i}]")])
        keep.append(canonical)
    ordered = tuple(c for c in capmod.CAPABILITIES if c in set(keep))
    reasons = doc.get("reasons") if isinstance(doc.get("reasons"), dict) else {}
    return CapabilityPlan(ordered, reasons, spec.user.uid, spec.user.gid)


def read_bundle(path: Path) -> BundleOnDisk:
    """A bundle as written by ``harden generate`` (files may have been edited since)."""
    manifest = read_manifest(path)
    try:
        spec = load_spec(path / "spec.yaml").spec
    except ValidationError as exc:  # pragma: no cover - load_spec reports located problems
        raise InputError(f"{path / 'spec.yaml'}: {exc}") from None
    profile = load_profile(path / "seccomp.json")
    caps = _read_caps(path / "capabilities.json", spec)
    return BundleOnDisk(path, manifest, spec, caps, profile, modified_files(path, manifest))
