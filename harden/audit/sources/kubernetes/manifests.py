"""A Kubernetes manifest file -> one TargetState per container of every workload in it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from harden.audit.sources.docker.declared import CAPABILITY_FACTS, NAMESPACE_FACTS
from harden.audit.sources.docker.fields import BadField
from harden.audit.sources.kubernetes import pod, podhost, podsecurity
from harden.audit.sources.kubernetes.objects import Found, Workload, containers
from harden.audit.sources.kubernetes.pod import PodContainer
from harden.audit.sources.located import (
    no_effective_layer,
    run_steps,
    unreadable_target,
    waiver_key,
)
from harden.audit.state.model import (
    InlineWaiver,
    Layer,
    LayerBuilder,
    SourceKind,
    TargetKind,
    TargetState,
    build_state,
)

Step = Callable[[PodContainer, LayerBuilder], None]

STEPS: tuple[tuple[tuple[str, ...], Step], ...] = (
    (
        (
            "user.name",
            "user.uid",
            "user.run_as_non_root",
            "user.requested_uids",
            "windows.host_process",
        ),
        pod.user,
    ),
    (CAPABILITY_FACTS, pod.capabilities),
    (("seccomp.profile", "seccomp.mode", "seccomp.allows_all", "no_new_privs"), pod.seccomp),
    (("seccomp.requested",), podsecurity.seccomp),
    (("seccomp.annotated",), podsecurity.seccomp_annotations),
    (("apparmor.requested",), podsecurity.apparmor),
    (("selinux.requested",), podsecurity.selinux),
    (("proc_mount",), podsecurity.proc_mount),
    (("probe_hosts",), podsecurity.probe_hosts),
    (("os",), podsecurity.operating_system),
    (
        (
            "apparmor.profile",
            "selinux.label",
            "selinux.user",
            "selinux.role",
            "selinux.type",
            "lsm.apparmor_enabled",
            "lsm.selinux_enabled",
        ),
        pod.lsm,
    ),
    (
        (*NAMESPACE_FACTS, "network.mode"),
        podhost.namespaces,
    ),
    (
        (
            "resources.memory",
            "resources.cpu_millis",
            "resources.cpu_shares",
            "resources.pids",
            "resources.cgroup_parent",
            "resources.ulimits",
        ),
        podhost.resources,
    ),
    (
        (
            "rootfs.read_only",
            "volume_types",
            "mounts",
            "masked_paths",
            "readonly_paths",
            "devices.passed",
            "devices.all_allowed",
        ),
        podhost.filesystem,
    ),
    (("network.ports", "sysctls"), podhost.network),
    (
        ("restart.policy", "restart.max_retries", "healthcheck.configured", "exec_sessions"),
        podhost.runtime,
    ),
)


def target_name(workload: Workload, container: str) -> str:
    """``Deployment/default/web/nginx``: what waivers match and reports show."""
    return f"{workload.title()}/{container}"


def _waivers(pc: PodContainer) -> tuple[InlineWaiver, ...]:
    annotations, lines = pc.annotations()
    out = []
    for key, value in sorted(annotations.items()):
        rule = waiver_key(key)
        if rule is not None:
            out.append(InlineWaiver(rule, value, lines.get(key)))
    return tuple(out)


def container_state(pc: PodContainer) -> TargetState:
    name = target_name(pc.workload, pc.name)
    declared = LayerBuilder(Layer.DECLARED)
    source = pc.workload.doc.source
    if not isinstance(pc.c.raw(), dict):
        reason = f"{source}:{pc.c.line()}: {pc.c.dotted()}: a container must be a map"
        return unreadable_target(name, SourceKind.KUBERNETES, reason, source, pc.c.line())
    try:
        pod.identity(pc, declared, name)
    except BadField as exc:  # the identity facts fail, the rest go on
        declared.fail_all(("id", "name", "image", "runtime", "labels", "annotations"), str(exc))
    run_steps(declared, tuple((paths, _bind(step, pc)) for paths, step in STEPS))
    waivers: tuple[InlineWaiver, ...] = ()
    with contextlib.suppress(BadField):  # annotations of the wrong type failed identity
        waivers = _waivers(pc)
    return build_state(
        TargetKind.CONTAINER,
        name,
        name,
        SourceKind.KUBERNETES,
        declared,
        no_effective_layer(),
        file=source,
        line=pc.c.line(),
        waivers=waivers,
    )


def _bind(step: Step, pc: PodContainer) -> Callable[[LayerBuilder], None]:
    def run(layer: LayerBuilder) -> None:
        step(pc, layer)

    return run


def targets(found: Found) -> list[TargetState]:
    out = []
    for workload in found.workloads:
        for path, name, ctype in containers(workload):
            out.append(container_state(PodContainer(workload, path, name, ctype)))
    return out
