"""Every file of a bundle from the built layers (pure): each layer's own files, the spec,
the forms that apply the layers, and with --all the security-profiles-operator objects
and README.txt.

:func:`build_layers` runs the builder of every layer of the registry that is asked for
(the core ones, or all with --all); :func:`bundle_files` renders them and derives the
forms. Nothing here runs a checker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml

from harden.generate import forms, install, spo
from harden.layers.apparmor.model import AppArmorProfile
from harden.layers.apparmor.render import APPARMOR_FILE
from harden.layers.caps.model import CapabilityPlan
from harden.layers.interface import layer_name
from harden.layers.registry import LAYERS, Host
from harden.layers.seccomp.model import Profile
from harden.layers.seccomp.render import dumps, to_oci_json
from harden.layers.selinux.expand import SPO_RAW_FILE
from harden.layers.selinux.model import CilModule
from harden.layers.selinux.render import BLOCKS_FILE
from harden.layers.userns.model import Plan
from harden.layers.userns.render import USERNS_FILE
from harden.profile.spec import WorkloadSpec

SPEC_FILE = "spec.yaml"
SPO_FILES = {
    "seccomp": "spo-seccomp.yaml",
    "apparmor": "spo-apparmor.yaml",
    "selinux": "spo-selinux.yaml",
    "selinux-raw": SPO_RAW_FILE,
}
README_FILE = "README.txt"
M = TypeVar("M")


@dataclass(frozen=True)
class Built:
    """The model of every layer built for a spec, by registry name (in registry order)."""

    spec: WorkloadSpec
    models: Mapping[str, object]
    all_layers: bool

    def get(self, name: str, kind: type[M]) -> M | None:
        model = self.models.get(name)
        return model if isinstance(model, kind) else None

    def need(self, name: str, kind: type[M]) -> M:
        model = self.get(name, kind)
        if model is None:
            raise KeyError(f"the {name} layer was not built")  # a bug in the registry order
        return model

    @property
    def caps(self) -> CapabilityPlan:
        return self.need("caps", CapabilityPlan)

    @property
    def seccomp(self) -> Profile:
        return self.need("seccomp", Profile)


def build_layers(spec: WorkloadSpec, host: Host, *, all_layers: bool = False) -> Built:
    """Every layer's model (pure; raises Unexpressible for a spec a layer cannot express)."""
    chosen = {name: layer for name, layer in LAYERS.items() if all_layers or layer.core}
    models = {name: layer.build(spec, host) for name, layer in chosen.items()}
    return Built(spec, models, all_layers)


def form_layers(built: Built) -> forms.Layers:
    """What the forms refer to: the whitelist and the LSM profiles that were built."""
    apparmor = built.get("apparmor", AppArmorProfile)
    module = built.get("selinux", CilModule)
    plan = built.get("userns", Plan)
    return forms.Layers(
        built.spec,
        built.caps,
        apparmor_profile=apparmor.name if apparmor else None,
        selinux_type=module.process_type if module else None,
        selinux_file_type=module.file_type if module else None,
        userns=plan.allocations[0] if plan else None,
    )


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line strings (CIL policies) as literal blocks."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def _yaml(data: Any, header: str = "") -> bytes:
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
    return (header + text).encode()


def _yaml_blocks(data: Any, header: str = "") -> bytes:
    """YAML with multi-line strings as literal blocks (the CIL policy of SPO objects)."""
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
    return (header + text).encode()


def spec_document(spec: WorkloadSpec) -> dict[str, Any]:
    """The spec as plain data with defaults filled in (what the bundle was built from)."""
    return spec.model_dump(mode="json", exclude_none=True)


def _forms(built: Built, layers: forms.Layers) -> dict[str, bytes]:
    """The spec and the forms every bundle has."""
    oci = forms.oci_fragment(layers, to_oci_json(built.seccomp))
    return {
        SPEC_FILE: _yaml(
            spec_document(built.spec),
            "# The workload spec this bundle was built from, with every default filled in.\n",
        ),
        "docker-run.txt": forms.docker_run_text(layers).encode(),
        "compose.yaml": _yaml(
            forms.compose_service(layers),
            header="# compose keys for the service; merge into your compose file.\n",
        ),
        "k8s-container.yaml": _yaml(
            forms.k8s_container(layers),
            header="# Kubernetes container fields to merge (securityContext, "
            "resources).\n# Install seccomp.json on every node as "
            f"/var/lib/kubelet/seccomp/{layers.k8s_seccomp_path}\n",
        ),
        "oci-config.json": dumps(oci).encode(),
    }


def _full_forms(built: Built, layers: forms.Layers) -> dict[str, bytes]:
    """What --all adds to the forms: the Pod and the SPO objects."""
    name, module = layer_name(built.spec), built.need("selinux", CilModule)
    return {
        "k8s-pod.yaml": _yaml_blocks(
            forms.k8s_pod(layers),
            header="# Pod fields to merge (strategic merge patch): pod securityContext,\n"
            "# user namespace and the container's securityContext.\n",
        ),
        SPO_FILES["seccomp"]: _yaml_blocks(spo.seccomp_profile(name, built.seccomp)),
        SPO_FILES["apparmor"]: _yaml_blocks(
            spo.apparmor_profile(name, built.spec, built.caps.keep)
        ),
        SPO_FILES["selinux"]: _yaml_blocks(spo.selinux_profile(module)),
        SPO_FILES["selinux-raw"]: _yaml_blocks(spo.raw_selinux_profile(module)),
    }


def bundle_files(built: Built) -> dict[str, bytes]:
    """Every text file of the bundle (no manifest, no compiled filters: checks make those)."""
    files: dict[str, bytes] = {}
    for name, model in built.models.items():
        files.update(LAYERS[name].render(model))
    layers = form_layers(built)
    files.update(_forms(built, layers))
    if built.all_layers:
        files.update(_full_forms(built, layers))
        module = built.need("selinux", CilModule)
        files[README_FILE] = install.readme(
            built.spec, layers, module, module.base, sorted(files)
        ).encode()
    return files


def manifest_layers(built: Built) -> dict[str, Any]:
    """What the manifest says about the --all layers."""
    module, plan = built.need("selinux", CilModule), built.get("userns", Plan)
    userns = None
    if plan is not None:
        userns = {"file": USERNS_FILE, "range": plan.allocations[0].subid_line()}
    return {
        "apparmor": {
            "profile": built.need("apparmor", AppArmorProfile).name,
            "file": APPARMOR_FILE,
        },
        "selinux": {
            "module": module.file_name,
            "blocks": BLOCKS_FILE,
            "process_type": module.process_type,
            "file_type": module.file_type,
            "base": module.base,
        },
        "userns": userns,
        "spo": sorted(SPO_FILES.values()),
    }
