"""The security fields of a pod as written, at every level that applies to one container.

Pod Security Admission judges the fields a pod *writes*, pod level and container level
each on its own (a pod-level ``seccompProfile: Unconfined`` is refused even where every
container sets ``RuntimeDefault``), with names matched exactly (``chown`` is not
``CHOWN``). :mod:`.pod` gives what the kubelet would apply (the container's value wins,
``privileged`` implies no seccomp and no AppArmor), and the capability names as written
beside the normalised ones; this module gives the other fields as written, pod level
first, for the rules that judge a configuration as the standard does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from harden.audit.sources.docker.fields import BadField
from harden.audit.sources.kubernetes.pod import SC, PodContainer, PodFacts
from harden.audit.sources.located import Reader
from harden.audit.state.model import LayerBuilder


def _unconfined(value: Any) -> bool:
    return bool(value == "unconfined")


def _set_options(options: dict[str, str]) -> bool:
    return any(options.values())


# seccompProfile.type and the alpha annotations' values, in the words of seccomp.profile
_SECCOMP_TYPES = {"RuntimeDefault": "default", "Localhost": "custom", "Unconfined": "unconfined"}
_SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"


def _written(pc: PodContainer, key: str) -> Iterator[tuple[Reader, tuple[str, str]]]:
    """(reader, path) of ``securityContext.<key>`` on the pod, then on the container,
    where written (most pods write none: a look at each securityContext decides)."""
    for reader in (pc.pod, pc.c):
        sc = reader.raw(SC)
        if type(sc) is dict and sc.get(key) is not None:
            yield reader, (SC, key)


def _profile_types(
    pc: PodContainer, key: str, known: Iterable[str]
) -> Iterator[tuple[Reader, tuple[str, str], str]]:
    """(reader, path, type) of ``securityContext.<key>`` on the pod, then on the
    container, where written; a type outside ``known`` is a located error."""
    for reader, where in _written(pc, key):
        reader.get(where, dict, None)  # a map, or a located error
        kind = reader.get((*where, "type"), str, "")
        if kind not in known:
            raise BadField(
                f"{pc.workload.doc.source}:{reader.line(*where)}: {reader.dotted(*where, 'type')}",
                f"unknown type {kind!r} ({', '.join(known)})",
            )
        yield reader, where, kind


def seccomp(pc: PodContainer, layer: LayerBuilder) -> None:
    """seccompProfile.type of the pod, then of the container (Kubernetes 1.19 on)."""
    found = [
        (_SECCOMP_TYPES[kind], reader.line(*where))
        for reader, where, kind in _profile_types(pc, "seccompProfile", _SECCOMP_TYPES)
    ]
    _set_list(
        pc, layer, "seccomp.requested", found, worst=_unconfined, where=(SC, "seccompProfile")
    )


def seccomp_annotations(pc: PodContainer, layer: LayerBuilder) -> None:
    """The pod's alpha seccomp annotations for the container (what Kubernetes before 1.19
    judges): the pod's, then the container's."""
    annotations, lines = pc.pod_annotations()
    found: list[tuple[str, int | None]] = []
    for key in (_SECCOMP_POD_ANNOTATION, _SECCOMP_ANNOTATION + pc.name):
        if key not in annotations:
            continue
        value = annotations[key]
        if value in ("runtime/default", "docker/default"):
            found.append(("default", lines[key]))
        elif value.startswith("localhost/"):
            found.append(("custom", lines[key]))
        elif value == "unconfined":
            found.append(("unconfined", lines[key]))
        else:
            where = f"{pc.workload.doc.source}:{lines[key]}: annotation {key}"
            raise BadField(where, f"unknown seccomp profile {value!r}")
    where = f"{pc.workload.doc.source}: {pc.workload.title()} seccomp annotations"
    layer.set("seccomp.annotated", [v for v, _ in found], where, _line(found, _unconfined))


# appArmorProfile.type as an annotation value ('': localhost/<localhostProfile>)
_APPARMOR_TYPES = {"RuntimeDefault": "runtime/default", "Localhost": "", "Unconfined": "unconfined"}
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def apparmor(pc: PodContainer, layer: LayerBuilder) -> None:
    """appArmorProfile of the pod, then of the container, then the container's beta
    annotation, as annotation values (runtime/default, localhost/<name>, unconfined)."""
    found: list[tuple[str, int | None]] = []
    for reader, where, kind in _profile_types(pc, "appArmorProfile", _APPARMOR_TYPES):
        value = _APPARMOR_TYPES[kind] or "localhost/" + reader.get(
            (*where, "localhostProfile"), str, ""
        )
        found.append((value, reader.line(*where)))
    annotations, lines = pc.pod_annotations()
    key = _APPARMOR_ANNOTATION + pc.name
    value = annotations.get(key, "")
    if value in ("runtime/default", "unconfined") or value.startswith("localhost/"):
        found.append((value, lines[key]))
    elif value:
        at = f"{pc.workload.doc.source}:{lines[key]}: annotation {key}"
        raise BadField(at, f"unknown AppArmor profile {value!r}")
    _set_list(
        pc, layer, "apparmor.requested", found, worst=_unconfined, where=(SC, "appArmorProfile")
    )


def _line(found: Sequence[tuple[Any, int | None]], worst: Callable[[Any], bool]) -> int | None:
    """The line of the first value that is ``worst``, else of the first value (where a
    finding about the list points)."""
    lines = [line for value, line in found if worst(value)] + [line for _, line in found]
    return lines[0] if lines else None


def _set_list(
    pc: PodContainer,
    layer: LayerBuilder,
    fact: str,
    found: Sequence[tuple[Any, int | None]],
    *,
    worst: Callable[[Any], bool],
    where: tuple[str, ...],
) -> None:
    """A list of values written at the pod and container level, each with its line."""
    pod_sc, container_sc = pc.sc_paths
    origin = f"{pc.title}{pod_sc}.{where[-1]} and {container_sc}.{where[-1]}"
    line = _line(found, worst) or pc.sc_line
    layer.set(fact, [value for value, _ in found], origin, line)


def selinux(pc: PodContainer, layer: LayerBuilder) -> None:
    """seLinuxOptions of the pod, then of the container, each as written: a container's
    ``{}`` replaces the pod's options for the kubelet, but Pod Security judges both."""
    found: list[tuple[dict[str, str], int | None]] = []
    for reader, where in _written(pc, "seLinuxOptions"):
        options = reader.get(where, dict, {})
        parts = {k: str(options.get(k) or "") for k in ("user", "role", "type")}
        found.append((parts, reader.line(*where)))
    _set_list(
        pc, layer, "selinux.requested", found, worst=_set_options, where=(SC, "seLinuxOptions")
    )


def proc_mount(pc: PodContainer, layer: LayerBuilder) -> None:
    """The container's procMount as written ('' when not set)."""
    c, where = pc.c, (SC, "procMount")
    value = c.get(where, str, "")
    if value not in ("", "Default", "Unmasked"):
        at = f"{pc.workload.doc.source}:{c.line(*where)}: {c.dotted(*where)}"
        raise BadField(at, f"unknown /proc mount type {value!r} (Default or Unmasked)")
    line = c.line(*where) if value else pc.sc_line
    layer.set("proc_mount", value, pc.origin(c, *where) + ("" if value else " (not set)"), line)


_PROBES = (("livenessProbe",), ("readinessProbe",), ("startupProbe",))
_HANDLERS = (("lifecycle", "postStart"), ("lifecycle", "preStop"))
_HANDLER_KEYS = frozenset(h[0] for h in (*_PROBES, *_HANDLERS))


def probe_hosts(pc: PodContainer, layer: LayerBuilder) -> None:
    """The host of every httpGet and tcpSocket probe and lifecycle handler (the kubelet
    would connect there from the node: another pod, a node service, an outside host)."""
    c = pc.c
    hosts: list[tuple[str, int | None]] = []
    handlers = (*_PROBES, *_HANDLERS) if _HANDLER_KEYS & c.raw().keys() else ()
    for handler in handlers:
        for action in ("httpGet", "tcpSocket"):
            where = (*handler, action, "host")
            host = c.get(where, str, "")
            if host:
                hosts.append((host, c.line(*where)))
    origin = pc.origin(c) + ": probes and lifecycle handlers"
    layer.set("probe_hosts", [h for h, _ in hosts], origin, hosts[0][1] if hosts else c.line())


def operating_system(pc: PodContainer, layer: LayerBuilder) -> None:
    for path, value, origin, line in pc.pod_facts("os", _pod_os):
        layer.set(path, value, origin, line)


def _pod_os(pc: PodContainer) -> PodFacts:
    pod, where = pc.pod, ("os", "name")
    name = pod.get(where, str, "")
    origin = pc.origin(pod, *where) + ("" if name else " (not set)")
    return (("os", name, origin, pod.line(*where) if name else None),)
