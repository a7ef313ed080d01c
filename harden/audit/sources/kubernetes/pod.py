"""One container of a Kubernetes pod spec -> its declared facts, each with its line.

Container-level ``securityContext`` fields win over the pod-level ones they inherit
(runAsUser, runAsGroup, runAsNonRoot, seLinuxOptions, seccompProfile, appArmorProfile,
windowsOptions), as the kubelet does. A fact that the manifest leaves to the node
(the runtime's default capabilities, pids limit, cgroup namespace) says so in its origin
or is *unavailable*; a field with the wrong type makes its facts *failed*.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harden.audit.sources.docker.fields import BadField, bounding_set, cap_names
from harden.audit.sources.kubernetes.objects import Workload
from harden.audit.sources.located import Reader
from harden.audit.state.model import LayerBuilder
from harden.system.yaml import PathKey

SC = "securityContext"
_PROPAGATION = {"Bidirectional": "shared", "HostToContainer": "slave"}
_ANNOTATION_SECCOMP = "container.seccomp.security.alpha.kubernetes.io/"
_ANNOTATION_APPARMOR = "container.apparmor.security.beta.kubernetes.io/"


# (fact path, value, origin, line) of facts every container of a pod shares
PodFacts = tuple[tuple[str, Any, str, int | None], ...]


@dataclass(frozen=True)
class PodContainer:
    workload: Workload
    path: PathKey
    name: str
    ctype: str  # container, init or ephemeral

    @functools.cached_property
    def c(self) -> Reader:
        return Reader(self.workload.doc, self.path)

    @functools.cached_property
    def pod(self) -> Reader:
        return Reader(self.workload.doc, self.workload.pod)

    @functools.cached_property
    def title(self) -> str:
        return f"{self.workload.doc.source}: {self.workload.title()} "

    @functools.cached_property
    def sc_paths(self) -> tuple[str, str]:
        """The dotted paths of the pod's and the container's securityContext."""
        return self.pod.dotted(SC), self.c.dotted(SC)

    @functools.cached_property
    def sc_line(self) -> int | None:
        """Where a securityContext field the container does not set would go."""
        return self.c.line(SC) or self.c.line()

    def pod_facts(self, key: str, compute: Callable[[PodContainer], PodFacts]) -> PodFacts:
        """Facts that depend on the pod alone, worked out once for all its containers (a
        BadField is raised again for each container, failing each one's facts)."""
        memo = self.workload.memo
        if key not in memo:
            memo[key] = compute(self)
        facts: PodFacts = memo[key]
        return facts

    def origin(self, reader: Reader, *path: str | int) -> str:
        return self.title + reader.dotted(*path)

    def inherited(self, key: str, kind: type | tuple[type, ...]) -> tuple[Any, str, int | None]:
        """securityContext.<key>: the container's, else the pod's; (value, origin, line)."""
        for reader in (self.c, self.pod):
            value = reader.get((SC, key), kind, None)
            if value is not None:
                return value, self.origin(reader, SC, key), reader.line(SC, key)
        return None, self.origin(self.c, SC, key) + " (not set)", self.sc_line

    def pod_annotations(self) -> tuple[dict[str, str], dict[str, int | None]]:
        """The pod's own annotations (a Pod's, or its template's), with lines."""
        return self.workload.pod_annotations

    def annotations(self) -> tuple[dict[str, str], dict[str, int | None]]:
        """The workload's annotations overlaid with its pod template's, with lines."""
        return self.workload.annotations


def identity(pc: PodContainer, layer: LayerBuilder, target: str) -> None:
    c, w = pc.c, pc.workload
    layer.set("id", target, pc.origin(c), c.line())
    layer.set("name", target, pc.origin(c, "name"), c.line("name"))
    layer.set("image", c.get(("image",), str, ""), pc.origin(c, "image"), c.line("image"))
    layer.set("runtime", "unknown", f"{w.doc.source}: a manifest does not name the runtime")
    meta = Reader(w.doc, w.template_meta or (*w.path, "metadata"))
    labels = meta.get(("labels",), dict, {})
    layer.set("labels", {str(k): str(v) for k, v in labels.items()}, pc.origin(meta, "labels"))
    annotations, _lines = pc.annotations()
    layer.set("annotations", annotations, pc.origin(meta, "annotations"), meta.line("annotations"))


def user(pc: PodContainer, layer: LayerBuilder) -> None:
    uid, origin, line = pc.inherited("runAsUser", int)
    gid, _, _ = pc.inherited("runAsGroup", int)
    name = "" if uid is None else (f"{uid}:{gid}" if gid is not None else str(uid))
    layer.set("user.name", name, origin, line)
    if uid is None:
        layer.unavailable("user.uid", "runAsUser is not set: the image's USER decides")
    else:
        layer.set("user.uid", uid, origin, line)
    non_root, origin, line = pc.inherited("runAsNonRoot", bool)
    if non_root and pc.pod.get((SC, "runAsNonRoot"), bool, None) is False:
        # the container's true wins for the kubelet; Pod Security refuses the pod's false
        where = (SC, "runAsNonRoot")
        non_root, origin, line = False, pc.origin(pc.pod, *where), pc.pod.line(*where)
    layer.set("user.run_as_non_root", bool(non_root), origin, line)
    uids = [
        (uid, reader.line(SC, "runAsUser"))
        for reader in (pc.pod, pc.c)
        if (uid := reader.get((SC, "runAsUser"), int, None)) is not None
    ]
    zero = [line for uid, line in uids if uid == 0]
    layer.set(
        "user.requested_uids",
        [uid for uid, _ in uids],
        f"{pc.origin(pc.pod, SC, 'runAsUser')} and {pc.c.dotted(SC, 'runAsUser')}",
        (zero or [line for _, line in uids] or [pc.sc_line])[0],
    )
    host_process, origin, line = _windows(pc)
    layer.set("windows.host_process", host_process, origin, line)


def _windows(pc: PodContainer) -> tuple[bool, str, int | None]:
    """hostProcess: true on the container or on the pod (the API requires the two to
    agree; Pod Security refuses either): a true one first, the container's first."""
    where = (SC, "windowsOptions", "hostProcess")
    written = [(r, v) for r in (pc.c, pc.pod) if (v := r.get(where, bool, None)) is not None]
    written.sort(key=lambda found: not found[1])
    if written:
        reader, value = written[0]
        return value, pc.origin(reader, *where), reader.line(*where)
    return False, pc.origin(pc.c, SC, "windowsOptions") + " (not set)", pc.c.line()


def capabilities(pc: PodContainer, layer: LayerBuilder) -> None:
    c = pc.c
    privileged = c.get((SC, "privileged"), bool, False)
    where = (SC, "privileged") if c.has(SC, "privileged") else (SC,)
    layer.set("privileged", privileged, pc.origin(c, *where), c.line(*where))
    add_written = [str(n) for n in c.get((SC, "capabilities", "add"), list, [])]
    drop_written = [str(n) for n in c.get((SC, "capabilities", "drop"), list, [])]
    added, dropped = cap_names(add_written), cap_names(drop_written)
    add_line = c.line(SC, "capabilities", "add") if add_written else None
    origin = pc.origin(c, SC, "capabilities", "add")
    layer.set("caps.added", added, origin, add_line)
    layer.set("caps.added_as_written", add_written, origin, add_line)  # what PSS matches
    drop_line = c.line(SC, "capabilities", "drop")
    origin = pc.origin(c, SC, "capabilities", "drop")
    layer.set("caps.dropped", dropped, origin, drop_line)
    layer.set("caps.dropped_as_written", drop_written, origin, drop_line)
    bounding = bounding_set(privileged, added, dropped)
    origin = pc.origin(c, SC, "capabilities") + " (runtime defaults + add - drop)"
    line = add_line if added else c.line(SC, "capabilities")
    layer.set("caps.bounding", bounding, origin, line)
    uid, _, _ = pc.inherited("runAsUser", int)
    if uid is None:
        layer.unavailable("caps.effective", "depends on the image's user (runAsUser is not set)")
    else:
        layer.set("caps.effective", bounding if uid == 0 else [], origin, line)


def seccomp(pc: PodContainer, layer: LayerBuilder) -> None:
    privileged = pc.c.get((SC, "privileged"), bool, False)
    profile, origin, line = pc.inherited("seccompProfile", dict)
    kind = str(profile.get("type", "")) if profile else ""
    if not kind:
        annotations, lines = pc.annotations()
        for key in (_ANNOTATION_SECCOMP + pc.name, "seccomp.security.alpha.kubernetes.io/pod"):
            if key in annotations:
                kind = _from_annotation(annotations[key])
                origin, line = f"{pc.workload.doc.source}: annotation {key}", lines[key]
                break
    if privileged:
        kind, origin, line = "Unconfined", pc.origin(pc.c, SC, "privileged"), pc.c.line(SC)
    if kind == "RuntimeDefault":
        values: tuple[str, str | None, bool | None] = ("default", "filter", False)
    elif kind == "Localhost":
        values = ("custom", "filter", None)
    elif kind == "Unconfined":
        values = ("unconfined", "disabled", True)
    elif not kind:
        values = ("unset", None, None)
    else:
        raise BadField(f"{SC}.seccompProfile.type", f"unknown type {kind!r}")
    layer.set("seccomp.profile", values[0], origin, line)
    for fact, value, reason in (
        ("seccomp.mode", values[1], "no seccompProfile: the kubelet's SeccompDefault decides"),
        ("seccomp.allows_all", values[2], "a Localhost profile is a file on the node"),
    ):
        if value is None:
            layer.unavailable(fact, reason if kind == "Localhost" or not kind else "not known")
        else:
            layer.set(fact, value, origin, line)
    _no_new_privs(pc, layer, privileged)


def _from_annotation(value: str) -> str:
    if value in ("runtime/default", "docker/default"):
        return "RuntimeDefault"
    if value == "unconfined":
        return "Unconfined"
    return "Localhost" if value.startswith("localhost/") else value


def _no_new_privs(pc: PodContainer, layer: LayerBuilder, privileged: bool) -> None:
    c = pc.c
    escalation = c.get((SC, "allowPrivilegeEscalation"), bool, None)
    where = (SC, "allowPrivilegeEscalation")
    origin = pc.origin(c, *where) + ("" if escalation is not None else " (not set: allowed)")
    layer.set("no_new_privs", escalation is False and not privileged, origin, c.line(*where))


def lsm(pc: PodContainer, layer: LayerBuilder) -> None:
    privileged = pc.c.get((SC, "privileged"), bool, False)
    profile, origin, line = pc.inherited("appArmorProfile", dict)
    name = "runtime/default"
    if profile:
        kind = str(profile.get("type", ""))
        name = {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}.get(
            kind, str(profile.get("localhostProfile", ""))
        )
    else:
        annotations, lines = pc.annotations()
        key = _ANNOTATION_APPARMOR + pc.name
        if key in annotations:
            value = annotations[key]
            name = value.removeprefix("localhost/")
            origin, line = f"{pc.workload.doc.source}: annotation {key}", lines[key]
        else:
            origin += ": the runtime's default profile applies"
    layer.set("apparmor.profile", "unconfined" if privileged else name, origin, line)
    options, origin, line = pc.inherited("seLinuxOptions", dict)
    parts = {k: str((options or {}).get(k, "")) for k in ("user", "role", "type", "level")}
    label = ":".join(parts[k] for k in ("user", "role", "type", "level")) if options else ""
    layer.set("selinux.label", label, origin, line)
    for part in ("user", "role", "type"):
        layer.set(f"selinux.{part}", parts[part], origin, line)
    for fact in ("lsm.apparmor_enabled", "lsm.selinux_enabled"):
        layer.unavailable(fact, "whether the node enforces it is not in the manifest")
