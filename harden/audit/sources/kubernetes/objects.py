"""Kubernetes manifests: the workload objects of a document, and where their pod spec is.

Workload kinds with a pod spec are read (Pod, Deployment, StatefulSet, DaemonSet,
ReplicaSet, ReplicationController, Job, CronJob, PodTemplate), and so is any other kind
(an operator's CRD) whose ``spec.template.spec`` holds containers. ``List`` and
``<Kind>List`` documents are opened. Built-in kinds that run no container (Service,
ConfigMap, ...) are counted and left alone; an unknown kind without a pod template is a
scan problem (harden cannot tell whether it runs containers), unless the policy names it
in ``ignore_kinds``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harden.audit.sources.located import Reader
from harden.errors import Problem
from harden.system.yaml import Located, PathKey

POD_SPEC: dict[str, PathKey] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
# Built-in kinds that run no container of their own: nothing to check.
NOT_WORKLOADS = frozenset(
    [
        "APIService",
        "Binding",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "ConfigMap",
        "ControllerRevision",
        "CSIDriver",
        "CSINode",
        "CSIStorageCapacity",
        "CustomResourceDefinition",
        "EndpointSlice",
        "Endpoints",
        "Event",
        "FlowSchema",
        "HorizontalPodAutoscaler",
        "Ingress",
        "IngressClass",
        "Lease",
        "LimitRange",
        "MutatingWebhookConfiguration",
        "Namespace",
        "NetworkPolicy",
        "Node",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceQuota",
        "Role",
        "RoleBinding",
        "RuntimeClass",
        "Secret",
        "Service",
        "ServiceAccount",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "Kustomization",
    ]
)
CONTAINER_LISTS = (("containers", "container"), ("initContainers", "init"))
EPHEMERAL = ("ephemeralContainers", "ephemeral")


@dataclass(frozen=True)
class Workload:
    """One object with a pod spec, located in its document."""

    doc: Located
    path: PathKey  # where the object is in the document (() or ("items", 3))
    kind: str
    name: str
    namespace: str
    pod: PathKey  # the pod spec, from the document root
    template_meta: PathKey | None  # the pod template's metadata, if the kind has one

    @property
    def reader(self) -> Reader:
        return Reader(self.doc)

    def title(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    @functools.cached_property
    def memo(self) -> dict[str, Any]:
        """What is worked out once per workload for all its containers (by the source)."""
        return {}

    @functools.cached_property
    def annotations(self) -> tuple[dict[str, str], dict[str, int | None]]:
        """The workload's annotations overlaid with its pod template's, with lines (read
        once per workload: every container of it asks; callers do not change them)."""
        metas = [Reader(self.doc, (*self.path, "metadata"))]
        if self.template_meta is not None:
            metas.append(Reader(self.doc, self.template_meta))
        return _annotations(metas)

    @functools.cached_property
    def pod_annotations(self) -> tuple[dict[str, str], dict[str, int | None]]:
        """The pod's own annotations (a Pod's, or its template's), with lines: what Pod
        Security reads."""
        return _annotations([Reader(self.doc, self.template_meta or (*self.path, "metadata"))])


def _annotations(metas: list[Reader]) -> tuple[dict[str, str], dict[str, int | None]]:
    """The annotations of ``metas``, later ones winning, with the line of each."""
    values: dict[str, str] = {}
    lines: dict[str, int | None] = {}
    for meta in metas:
        found = meta.get(("annotations",), dict, {})
        for key, value in found.items():
            values[str(key)] = str(value) if value is not None else ""
            lines[str(key)] = meta.line("annotations", key)
    return values, lines


@dataclass
class Found:
    workloads: list[Workload] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)  # kind -> count (not workloads)
    problems: list[Problem] = field(default_factory=list)  # located, for the scan's problems


def find_workloads(doc: Located, ignore_kinds: frozenset[str], found: Found) -> None:
    _visit(doc, (), ignore_kinds, found, depth=0)


def _visit(doc: Located, path: PathKey, ignore: frozenset[str], found: Found, depth: int) -> None:
    reader = Reader(doc, path)
    data = reader.raw()
    line = reader.line()
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        found.problems.append(Problem("not a Kubernetes object (no kind)", reader.dotted(), line))
        return
    kind = data["kind"]
    if kind == "List" or (kind.endswith("List") and isinstance(data.get("items"), list)):
        items = data.get("items")
        if not isinstance(items, list) or depth > 4:
            found.problems.append(Problem("a List needs a list of items", reader.dotted(), line))
            return
        for index in range(len(items)):
            _visit(doc, (*path, "items", index), ignore, found, depth + 1)
        return
    pod = POD_SPEC.get(kind)
    if pod is None and _has_template(reader):
        pod = ("spec", "template", "spec")
    if pod is None:
        if kind in NOT_WORKLOADS or kind in ignore:
            found.ignored[kind] = found.ignored.get(kind, 0) + 1
        else:
            message = (
                f"unknown kind {kind!r} without a pod template: cannot tell whether it runs "
                "containers (list it in the policy's ignore_kinds if it does not)"
            )
            found.problems.append(Problem(message, reader.dotted("kind") or "kind", line))
        return
    for problem in _identity_problems(reader, pod):
        found.problems.append(problem)
        return
    meta = reader.raw("metadata")
    name = meta.get("name") or meta.get("generateName") or "(unnamed)"
    namespace = meta.get("namespace") or "default"
    template_meta = (*pod[:-1], "metadata") if len(pod) > 1 else None
    found.workloads.append(
        Workload(doc, path, kind, str(name), str(namespace), (*path, *pod), template_meta)
    )


def _has_template(reader: Reader) -> bool:
    containers = reader.raw("spec", "template", "spec", "containers")
    return isinstance(containers, list)


def _identity_problems(reader: Reader, pod: PathKey) -> Iterator[Problem]:
    meta = reader.raw("metadata")
    if not isinstance(meta, dict):
        yield Problem("metadata must be a map", reader.dotted("metadata"), reader.line())
        return
    for key in ("name", "namespace", "generateName"):
        if key in meta and not isinstance(meta[key], str):
            yield Problem(
                "must be a string", reader.dotted("metadata", key), reader.line("metadata", key)
            )
    spec = reader.raw(*pod)
    if not isinstance(spec, dict):
        yield Problem("the pod spec must be a map", reader.dotted(*pod), reader.line(*pod))
        return
    if not isinstance(spec.get("containers"), list) or not spec["containers"]:
        where = (*pod, "containers")
        yield Problem(
            "a pod spec needs a list of containers", reader.dotted(*where), reader.line(*where)
        )


def containers(workload: Workload) -> Iterator[tuple[PathKey, str, str]]:
    """(path of the container, its name, its type: container, init or ephemeral)."""
    reader = Reader(workload.doc, workload.pod)
    for key, ctype in (*CONTAINER_LISTS, EPHEMERAL):
        items = reader.raw(key)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            name = item.get("name") if isinstance(item, dict) else None
            yield (*workload.pod, key, index), str(name or f"{key}[{index}]"), ctype
