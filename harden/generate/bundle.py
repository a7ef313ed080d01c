"""A Bundle: every artefact generated for one spec, checked, then written atomically.

    spec -> each layer's builder and renderer (pure) + forms -> files
         -> each layer's checker (libseccomp, apparmor_parser, secilc, ...) -> manifest

The layers are those of the registry (:mod:`harden.layers.registry`): the core ones,
or all of them with ``all_layers``. Nothing is written unless every check passes; the
files appear in the output directory all at once (written to a temporary sibling,
then renamed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harden import __version__
from harden.errors import CheckFailed, ToolMissing
from harden.generate.files import Built, build_layers, bundle_files, manifest_layers
from harden.layers.caps.model import CapabilityPlan
from harden.layers.interface import Checked, Verdict
from harden.layers.registry import LAYERS, Host
from harden.layers.seccomp.build import allowed_names
from harden.layers.seccomp.model import Action, Profile
from harden.layers.seccomp.render import dumps
from harden.layers.userns.model import Pool, default_pool
from harden.profile.spec import WorkloadSpec
from harden.progress import Progress, no_progress, step

if TYPE_CHECKING:
    from harden.layers.selinux.base import SelinuxBase

MANIFEST = "manifest.json"
BUNDLE_KIND = "harden.bundle"
BUNDLE_VERSION = 1


@dataclass(frozen=True)
class Bundle:
    """The generated files of one spec (name -> bytes) and what was proven about them."""

    spec: WorkloadSpec
    caps: CapabilityPlan
    seccomp: Profile
    files: Mapping[str, bytes]
    checked: tuple[Checked, ...] = ()

    def manifest(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.files[MANIFEST])
        return doc


def check_files(
    built: Built, files: Mapping[str, bytes], host: Host, progress: Progress = no_progress
) -> tuple[Checked, ...]:
    """Every built layer's checker on its files; the first refusal is CheckFailed and a
    missing checker ToolMissing (nothing is written)."""
    out = []
    for name in built.models:
        step(progress, f"checking the {name} layer")
        for checked in LAYERS[name].check(files, host):
            if checked.verdict is Verdict.ERROR:
                raise ToolMissing(checked.detail, hint=checked.hint)
            if checked.verdict is Verdict.FAILED:
                raise CheckFailed(
                    f"{checked.artefact}: {checked.checker} refused it: {checked.detail}",
                    hint="this is a bug in harden or in its profiles/ data; nothing was written",
                )
            out.append(checked)
    return tuple(out)


def _host(
    progress: Progress, all_layers: bool, base: SelinuxBase | None, pool: Pool | None
) -> Host:
    """The host facts: the SELinux base policy is loaded (for --all) before any building."""
    pool = pool or default_pool()
    if not all_layers:
        return Host(pool=pool)
    from harden.layers.selinux.base import load_base  # noqa: PLC0415 - only --all needs it

    step(progress, "loading the SELinux base policy")
    loaded = base or load_base()
    return Host(lambda: loaded, pool)


def build_bundle(
    spec: WorkloadSpec,
    progress: Progress = no_progress,
    *,
    all_layers: bool = False,
    selinux_base: SelinuxBase | None = None,
    userns_pool: Pool | None = None,
    complain: bool = False,
) -> Bundle:
    """Build and check every artefact: capabilities + seccomp (+ forms), and with
    ``all_layers`` also AppArmor, SELinux, user namespace, SPO objects and README.txt.

    The SELinux base policy is loaded (converted and cached) when not given; the user
    namespace range comes from ``userns_pool`` (default: useradd's subordinate range).
    With ``complain``, the seccomp profile logs what it would deny instead (harden learn).
    """
    host = _host(progress, all_layers, selinux_base, userns_pool)
    built = build_layers(spec, host, all_layers=all_layers)
    if complain:
        built = _complain(built)
    files = bundle_files(built)
    checked = check_files(built, files, host, progress)
    for c in checked:
        files.update(c.made)
    files[MANIFEST] = dumps(manifest(built, files, checked)).encode()
    return Bundle(spec, built.caps, built.seccomp, files, checked)


def manifest(
    built: Built, files: Mapping[str, bytes], checked: tuple[Checked, ...]
) -> dict[str, Any]:
    """What the bundle holds: deterministic (no clock), with a digest of every file."""
    spec, caps, profile = built.spec, built.caps, built.seccomp
    keep = frozenset(caps.keep)
    allowed = {a.value: len(allowed_names(profile, a, keep)) for a in profile.arches()}
    simulated = {k: v for c in checked for k, v in c.record.get("simulated_calls", {}).items()}
    doc: dict[str, Any] = {
        "kind": BUNDLE_KIND,
        "version": BUNDLE_VERSION,
        "generator": f"harden {__version__}",
        "workload": spec.name,
        "architectures": [a.value for a in spec.architectures],
        "runtime": spec.runtime,
        "user": {"uid": spec.user.uid, "gid": spec.user.gid},
        "capabilities": list(caps.keep),
        "seccomp": {"allowed_syscalls": allowed, "simulated_calls": simulated},
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    if profile.default_action is Action.LOG:
        doc["seccomp"]["mode"] = "complain"  # logs what it would deny (harden learn)
    if built.all_layers:
        doc["layers"] = manifest_layers(built)
    return doc


def _complain(built: Built) -> Built:
    """The seccomp layer logs (SCMP_ACT_LOG) what it would deny instead: for harden learn."""
    profile = dataclasses.replace(built.seccomp, default_action=Action.LOG)
    return dataclasses.replace(built, models={**built.models, "seccomp": profile})
