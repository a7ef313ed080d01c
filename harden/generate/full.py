"""The layers ``harden generate --all`` adds: AppArmor, SELinux, user namespace, the
forms that refer to them, security-profiles-operator objects and README.txt.

:func:`build_layers` is pure (spec, whitelist, seccomp profile, base-policy facts and
an ID pool in; file contents out). :func:`check_layers` runs the real checkers on
those contents and refuses them if any checker does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from harden.errors import CheckFailed
from harden.generate import forms, install, spo
from harden.layers.apparmor.build import build_apparmor
from harden.layers.apparmor.check import check_apparmor
from harden.layers.apparmor.render import render as render_apparmor
from harden.layers.caps.build import CapabilityPlan
from harden.layers.interface import Unexpressible, layer_name
from harden.layers.seccomp.model import Profile
from harden.layers.selinux.base import SelinuxBase, SelinuxFacts
from harden.layers.selinux.build import build_selinux
from harden.layers.selinux.check import check_cil
from harden.layers.selinux.model import CilModule
from harden.layers.selinux.model import render as render_cil
from harden.layers.userns.plan import Plan, PlanError, Tenant, plan
from harden.layers.userns.pool import Pool
from harden.profile.lsmdata import SELINUX_BLOCKS_MODULE, selinux_blocks
from harden.profile.spec import WorkloadSpec
from harden.system.tools import ToolVerdict

APPARMOR_FILE = "apparmor.profile"
BLOCKS_FILE = f"{SELINUX_BLOCKS_MODULE}.cil"
USERNS_FILE = "userns.json"
SPO_FILES = {
    "seccomp": "spo-seccomp.yaml",
    "apparmor": "spo-apparmor.yaml",
    "selinux": "spo-selinux.yaml",
    "selinux-raw": "spo-selinux-raw.yaml",
}
README_FILE = "README.txt"
SPO_CHECK_PREFIX = "spo-check-"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuiltLayers:
    """What ``--all`` adds: the forms' view of the layers and the extra files."""

    layers: forms.Layers
    selinux: CilModule
    userns: Plan | None
    files: dict[str, bytes]


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line strings (CIL policies) as literal blocks."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def _yaml(*docs: Any, header: str = "") -> bytes:
    text = yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
    return (header + text).encode()


def _userns(spec: WorkloadSpec, pool: Pool) -> Plan | None:
    userns = spec.user_namespace
    if userns is None or not userns.enabled:
        return None
    for field, value in (("user.uid", spec.user.uid), ("user.gid", spec.user.gid)):
        if value >= userns.size:
            raise Unexpressible(
                "user namespace",
                "user_namespace.size",
                f"{userns.size} IDs cannot map {field} {value} (IDs 0-{userns.size - 1} only)",
                hint=f"make user_namespace.size larger than {value}",
            )
    try:
        return plan(pool, [Tenant(layer_name(spec), userns.size)])
    except PlanError as exc:
        raise Unexpressible("user namespace", "user_namespace.size", exc.message) from None


def build_layers(
    spec: WorkloadSpec, caps: CapabilityPlan, profile: Profile, facts: SelinuxFacts, pool: Pool
) -> BuiltLayers:
    """Every ``--all`` artefact for ``spec`` (pure; raises Unexpressible for bad specs)."""
    name = layer_name(spec)
    apparmor = build_apparmor(spec, caps)
    module = build_selinux(spec, caps, facts)
    userns = _userns(spec, pool)
    layers = forms.Layers(
        spec,
        caps,
        apparmor_profile=apparmor.name,
        selinux_type=module.process_type,
        selinux_file_type=module.file_type,
        userns=userns.allocations[0] if userns else None,
    )
    files: dict[str, bytes] = {
        APPARMOR_FILE: render_apparmor(apparmor).encode(),
        BLOCKS_FILE: selinux_blocks().text.encode(),
        module.file_name: render_cil(module, facts.source).encode(),
        "k8s-pod.yaml": _yaml(
            forms.k8s_pod(layers),
            header="# Pod fields to merge (strategic merge patch): pod securityContext,\n"
            "# user namespace and the container's securityContext.\n",
        ),
        SPO_FILES["seccomp"]: _yaml(spo.seccomp_profile(name, profile)),
        SPO_FILES["apparmor"]: _yaml(spo.apparmor_profile(name, spec, caps.keep)),
        SPO_FILES["selinux"]: _yaml(spo.selinux_profile(module)),
        SPO_FILES["selinux-raw"]: _yaml(spo.raw_selinux_profile(module)),
    }
    if userns is not None:
        doc = {**userns.to_json(), "note": install.USERNS_NOTE}
        files[USERNS_FILE] = (json.dumps(doc, indent=2) + "\n").encode()
    files[README_FILE] = install.readme(spec, layers, module, facts.source, sorted(files)).encode()
    return BuiltLayers(layers, module, userns, files)


def manifest_layers(built: BuiltLayers, base_source: str) -> dict[str, Any]:
    """What the manifest says about the ``--all`` layers."""
    module = built.selinux
    userns = None
    if built.userns is not None:
        userns = {"file": USERNS_FILE, "range": built.userns.allocations[0].subid_line()}
    return {
        "apparmor": {"profile": built.layers.apparmor_profile, "file": APPARMOR_FILE},
        "selinux": {
            "module": module.file_name,
            "blocks": BLOCKS_FILE,
            "process_type": module.process_type,
            "file_type": module.file_type,
            "base": base_source,
        },
        "userns": userns,
        "spo": sorted(SPO_FILES.values()),
    }


def check_layers(
    files: Mapping[str, bytes],
    module_file: str,
    base: SelinuxBase,
    progress: Progress = lambda _m: None,
) -> tuple[ToolVerdict, ToolVerdict]:
    """apparmor_parser on the profile; secilc on the blocks, the module and SPO's raw
    form (one compile with the whole base). Raises CheckFailed if either refuses."""
    progress("checking the AppArmor profile with apparmor_parser")
    aa = check_apparmor(files[APPARMOR_FILE].decode(), APPARMOR_FILE)
    progress("compiling the SELinux module with secilc and the base policy")
    cil = check_cil(selinux_sources(files, module_file), base)
    for label, verdict in ((APPARMOR_FILE, aa), (module_file, cil)):
        if not verdict.ok:
            raise CheckFailed(
                f"{label}: {verdict.tool} refused it: {verdict.detail}",
                hint="this is a bug in harden or in its profiles/ data; nothing was written",
            )
    return aa, cil


def raw_policy(files: Mapping[str, bytes]) -> str | None:
    """``spec.policy`` of the RawSelinuxProfile file, if there is one."""
    raw = files.get(SPO_FILES["selinux-raw"])
    if raw is None:
        return None
    doc = yaml.safe_load(raw)
    policy = doc.get("spec", {}).get("policy") if isinstance(doc, dict) else None
    return policy if isinstance(policy, str) else None


def selinux_sources(files: Mapping[str, bytes], module_file: str) -> dict[str, str]:
    """The CIL texts one secilc run compiles: the blocks, the module, and the
    RawSelinuxProfile's policy wrapped in a block the way SPO wraps it."""
    sources = {
        BLOCKS_FILE: files[BLOCKS_FILE].decode(),
        module_file: files[module_file].decode(),
    }
    policy = raw_policy(files)
    if policy is not None:
        name = f"{SPO_CHECK_PREFIX}{module_file.removesuffix('.cil')}"
        sources[f"{name}.cil"] = f"(block {name}\n{policy}\n)\n"
    return sources
