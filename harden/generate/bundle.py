"""A Bundle: every artefact generated for one spec, checked, then written atomically.

    spec -> builders (pure) -> Bundle -> checkers (libseccomp compile + simulate) -> files

Nothing is written unless every check passes; the files appear in the output
directory all at once (written to a temporary sibling, then renamed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from harden import __version__
from harden.errors import CheckFailed
from harden.generate import forms
from harden.layers.caps.build import CapabilityPlan, build_capabilities
from harden.layers.seccomp import jsonio
from harden.layers.seccomp.build import allowed_names, build_profile
from harden.layers.seccomp.compile import compile_profile
from harden.layers.seccomp.model import Action, Profile
from harden.layers.seccomp.simulate import SimulationReport, simulate
from harden.profile.spec import WorkloadSpec

if TYPE_CHECKING:
    from harden.layers.selinux.base import SelinuxBase
    from harden.layers.userns.pool import Pool

MANIFEST = "manifest.json"
BUNDLE_KIND = "harden.bundle"
BUNDLE_VERSION = 1

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Bundle:
    """The generated files of one spec (name -> bytes) and what was proven about them."""

    spec: WorkloadSpec
    caps: CapabilityPlan
    seccomp: Profile
    files: Mapping[str, bytes]
    simulations: tuple[SimulationReport, ...] = ()
    extra_manifest: Mapping[str, Any] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.files[MANIFEST])
        return doc


def _yaml(data: Any, header: str = "") -> bytes:
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
    return (header + text).encode()


def _json(data: Any) -> bytes:
    return jsonio.dumps(data).encode()


def spec_document(spec: WorkloadSpec) -> dict[str, Any]:
    """The spec as plain data with defaults filled in (what the bundle was built from)."""
    return spec.model_dump(mode="json", exclude_none=True)


def core_files(spec: WorkloadSpec, layers: forms.Layers, profile: Profile) -> dict[str, bytes]:
    """The capability and seccomp artefacts and the forms that apply them."""
    seccomp_doc = jsonio.to_docker_json(profile)
    return {
        "spec.yaml": _yaml(
            spec_document(spec),
            "# The workload spec this bundle was built from, with every default filled in.\n",
        ),
        "capabilities.json": _json(layers.caps.to_json()),
        forms.SECCOMP_FILE: _json(seccomp_doc),
        "docker-run.txt": forms.docker_run_text(layers).encode(),
        "compose.yaml": _yaml(
            forms.compose_service(layers),
            "# compose keys for the service; merge into your compose file.\n",
        ),
        "k8s-container.yaml": _yaml(
            forms.k8s_container(layers),
            "# Kubernetes container fields to merge (securityContext, "
            "resources).\n# Install seccomp.json on every node as "
            f"/var/lib/kubelet/seccomp/{layers.k8s_seccomp_path}\n",
        ),
        "oci-config.json": _json(forms.oci_fragment(layers, jsonio.to_oci_json(profile))),
    }


def check_seccomp(
    profile: Profile, caps: frozenset[str], progress: Progress = lambda _m: None
) -> tuple[dict[str, bytes], tuple[SimulationReport, ...]]:
    """Compile the profile for every arch group and prove the BPF matches the JSON."""
    files: dict[str, bytes] = {}
    reports = []
    for compiled in compile_profile(profile, caps):
        native = compiled.group.native.value
        progress(f"compiling and simulating seccomp for {native}")
        report = simulate(profile, compiled, caps)
        if not report.ok:
            shown = [str(m) for m in report.mismatches[:10]] + list(report.ambiguous)
            more = len(report.mismatches) - 10
            raise CheckFailed(
                f"the compiled {native} filter does not do what seccomp.json says:\n  "
                + "\n  ".join(shown)
                + (f"\n  ... and {more} more" if more > 0 else ""),
                hint="this is a bug in the profile or in harden; nothing was written",
            )
        files[f"seccomp.{native}.bpf"] = compiled.bpf
        files[f"seccomp.{native}.pfc"] = compiled.pfc.encode()
        reports.append(report)
    return files, tuple(reports)


def build_bundle(
    spec: WorkloadSpec,
    progress: Progress = lambda _m: None,
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
    caps = build_capabilities(spec)
    profile = build_profile(spec, complain=complain)
    if not all_layers:
        layers = forms.Layers(spec, caps)
        files = core_files(spec, layers, profile)
        compiled, reports = check_seccomp(profile, frozenset(caps.keep), progress)
        files.update(compiled)
        files[MANIFEST] = _json(manifest(spec, caps, profile, files, reports))
        return Bundle(spec, caps, profile, files, reports)

    from harden.generate import full  # noqa: PLC0415 - only --all needs the LSM layers
    from harden.layers.selinux.base import load_base  # noqa: PLC0415
    from harden.layers.userns.pool import default_pool  # noqa: PLC0415

    progress("loading the SELinux base policy")
    base = selinux_base or load_base()
    built = full.build_layers(spec, caps, profile, base.facts, userns_pool or default_pool())
    files = core_files(spec, built.layers, profile)
    files.update(built.files)
    compiled, reports = check_seccomp(profile, frozenset(caps.keep), progress)
    files.update(compiled)
    full.check_layers(files, built.selinux.file_name, base, progress)
    extra = {"layers": full.manifest_layers(built, base.facts.source)}
    files[MANIFEST] = _json(manifest(spec, caps, profile, files, reports, extra=extra))
    return Bundle(spec, caps, profile, files, reports, extra)


def manifest(
    spec: WorkloadSpec,
    caps: CapabilityPlan,
    profile: Profile,
    files: Mapping[str, bytes],
    reports: tuple[SimulationReport, ...],
    *,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the bundle holds: deterministic (no clock), with a digest of every file."""
    allowed = {
        a.value: len(allowed_names(profile, a, frozenset(caps.keep))) for a in profile.arches()
    }
    doc: dict[str, Any] = {
        "kind": BUNDLE_KIND,
        "version": BUNDLE_VERSION,
        "generator": f"harden {__version__}",
        "workload": spec.name,
        "architectures": [a.value for a in spec.architectures],
        "runtime": spec.runtime,
        "user": {"uid": spec.user.uid, "gid": spec.user.gid},
        "capabilities": list(caps.keep),
        "seccomp": {
            "allowed_syscalls": allowed,
            "simulated_calls": {r.native.value: r.cases for r in reports},
        },
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    if profile.default_action is Action.LOG:
        doc["seccomp"]["mode"] = "complain"  # logs what it would deny (harden learn)
    if extra:
        doc.update(extra)
    return doc
