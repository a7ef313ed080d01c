"""The declared layer of a CRI container: what the runtime was asked for and applied.

Read from the container's verbose status: the OCI runtime spec the runtime generated
(``info.runtimeSpec``, every CRI runtime gives it) and, from containerd, the kubelet's
request (``info.config``, the CRI ContainerConfig). Facts have the names the Docker
declared layer uses, so the same rules judge both. Where the kubelet's request and the
spec could disagree on what Pod Security judges (seccomp and AppArmor *requests*,
added capabilities) the request is used, as the gate reads it from the manifest; what
the kernel really applied is the effective layer's business (/proc).

What the CRI cannot carry is *unavailable*, with the reason: probes, restart policy,
exec sessions, and runAsNonRoot for a non-root process (the kubelet enforces it and does
not pass it on). A field of an unexpected type makes only its facts *failed*.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harden.audit.sources.cri import volumes
from harden.audit.sources.docker.declared import (
    CAPABILITY_FACTS,
    NAMESPACE_FACTS,
    RESOURCE_FACTS,
    SECURITY_FACTS,
)
from harden.audit.sources.docker.fields import ALLOWING, BadField, cap_names, get, selinux_parts
from harden.audit.state.model import Layer, LayerBuilder
from harden.kernel.capabilities import CAPABILITIES, DOCKER_DEFAULT

Raw = dict[str, Any]
SC = "linux.security_context"
PORTS_ANNOTATION = "io.kubernetes.container.ports"  # the kubelet's JSON of container.ports
KUBELET_ANNOTATION = "io.kubernetes.container.hash"  # present on every kubelet container
# The capabilities each runtime gives a container that asks for none (for runtimes whose
# verbose status has no ContainerConfig, the added/dropped sets are derived from these).
RUNTIME_DEFAULT_CAPS: dict[str, frozenset[str]] = {
    "containerd": DOCKER_DEFAULT,
    "crio": frozenset(
        {
            "CHOWN",
            "DAC_OVERRIDE",
            "FSETID",
            "FOWNER",
            "SETGID",
            "SETUID",
            "SETPCAP",
            "NET_BIND_SERVICE",
            "KILL",
        }
    ),
}
_NAMESPACES = {
    "pid": "pid",
    "network": "net",
    "ipc": "ipc",
    "uts": "uts",
    "mount": "mnt",
    "user": "user",
    "cgroup": "cgroup",
}
_SECCOMP_TYPES = {0: "default", 1: "unconfined", 2: "custom"}  # CRI SecurityProfile
_SECCOMP_PATHS = {"runtime/default": "default", "docker/default": "default", "": "unconfined"}
NO_PROBES = "probes are run by the kubelet: the CRI does not carry them"


@dataclass(frozen=True)
class CRIContainer:
    """One container as the CRI shows it, with its pod: plain data, easy to keep as JSON."""

    id: str
    name: str  # the container's name in its pod
    pod: str
    namespace: str  # the Kubernetes namespace
    pod_uid: str
    runtime: str  # containerd, crio
    image: str
    labels: dict[str, str]  # the pod's labels with the container's
    annotations: dict[str, str]  # the container's (the kubelet's own keys)
    pod_annotations: dict[str, str]
    info: Raw  # the verbose status info: runtimeSpec, config (containerd), pid
    pod_volume_types: tuple[str, ...] = ()  # every volume kind mounted in the pod
    sandbox: Raw = field(default_factory=dict)  # the sandbox's verbose status info ({}: unread)
    problems: tuple[str, ...] = field(default=())

    @property
    def target(self) -> str:
        return f"{self.namespace}/{self.pod}/{self.name}"


Step = Callable[[LayerBuilder, CRIContainer, Raw, Raw], None]
_CAP_LISTS = ("caps.added", "caps.dropped", "caps.added_as_written", "caps.dropped_as_written")


def _spec(c: CRIContainer) -> Raw:
    spec = c.info.get("runtimeSpec")
    if not isinstance(spec, dict):
        raise BadField("runtimeSpec", "is missing from the verbose status")
    return spec


def identity(layer: LayerBuilder, c: CRIContainer, _spec: Raw, config: Raw) -> None:
    layer.set("id", c.id, "CRI: ContainerStatus.id")
    layer.set("name", c.target, "CRI: pod namespace/pod name/container name")
    image = get(config, "image.image", str, "") or c.image
    layer.set("image", image, "CRI: ContainerConfig.image" if config else "CRI: status.image")
    layer.set("labels", dict(c.labels), "CRI: pod sandbox and container labels")
    layer.set("annotations", dict(c.pod_annotations), "CRI: pod sandbox annotations")
    layer.set("runtime", c.runtime, "CRI: Version.runtime_name")


def user(layer: LayerBuilder, c: CRIContainer, spec: Raw, config: Raw) -> None:
    uid = get(spec, "process.user.uid", int, 0)
    where = "OCI spec process.user.uid"
    layer.set("user.uid", uid, where)
    if config:
        asked = get(config, f"{SC}.run_as_user.value", int, None)
        if get(config, f"{SC}.run_as_user", dict, None) is not None and asked is None:
            asked = 0  # Go's JSON leaves a zero value out: {"run_as_user": {}} is uid 0
        group = get(config, f"{SC}.run_as_group.value", int, None)
        if get(config, f"{SC}.run_as_group", dict, None) is not None and group is None:
            group = 0
        username = get(config, f"{SC}.run_as_username", str, "")
        name = username if asked is None else str(asked)
        if asked is not None and group is not None:
            name = f"{asked}:{group}"
        layer.set("user.name", name, f"CRI: ContainerConfig.{SC}.run_as_user")
        asked_uids = [] if asked is None else [asked]
        layer.set("user.requested_uids", asked_uids, f"CRI: ContainerConfig.{SC}.run_as_user")
    else:
        layer.set("user.name", str(uid), where)
        layer.unavailable("user.requested_uids", "only the kubelet's request says")
    if uid == 0:
        layer.set(
            "user.run_as_non_root",
            False,
            f"{where} is 0: runAsNonRoot was not set (the kubelet refuses to start a "
            "root container that sets it)",
        )
    else:
        layer.unavailable(
            "user.run_as_non_root", "the kubelet enforces runAsNonRoot; the CRI does not carry it"
        )
    layer.set("windows.host_process", False, "OCI spec: a Linux container")
    layer.set("os", "linux", "OCI spec: a Linux container")


def _privileged(c: CRIContainer, config: Raw) -> bool | None:
    if config:
        return bool(get(config, f"{SC}.privileged", bool, False))
    value = c.info.get("privileged")  # CRI-O puts it beside the spec
    return value if isinstance(value, bool) else None


def capabilities(layer: LayerBuilder, c: CRIContainer, spec: Raw, config: Raw) -> None:
    privileged = _privileged(c, config)
    if privileged is None:
        layer.unavailable("privileged", "this runtime's verbose status does not say")
    else:
        layer.set("privileged", privileged, f"CRI: ContainerConfig.{SC}.privileged")
    caps = "process.capabilities"
    bounding = cap_names(get(spec, f"{caps}.bounding", list, []))
    layer.set("caps.bounding", bounding, f"OCI spec {caps}.bounding")
    layer.set(
        "caps.effective",
        cap_names(get(spec, f"{caps}.effective", list, [])),
        f"OCI spec {caps}.effective",
    )
    if config:
        where = f"CRI: ContainerConfig.{SC}.capabilities"
        add = [str(n) for n in get(config, f"{SC}.capabilities.add_capabilities", list, [])]
        drop = [str(n) for n in get(config, f"{SC}.capabilities.drop_capabilities", list, [])]
        added, dropped = cap_names(add), cap_names(drop)
        layer.set("caps.added_as_written", add, where)  # the kubelet passes them on as written
        layer.set("caps.dropped_as_written", drop, where)
    else:
        defaults = RUNTIME_DEFAULT_CAPS.get(c.runtime)
        if defaults is None:
            reason = f"the default capabilities of {c.runtime!r} are not known to harden"
            for fact in _CAP_LISTS:
                layer.unavailable(fact, reason)
            return
        where = f"OCI spec {caps}.bounding against {c.runtime}'s default capabilities"
        added = [name for name in bounding if name not in defaults]
        kept = defaults & set(bounding)
        dropped = ["ALL"] if not kept else [n for n in CAPABILITIES if n in defaults - kept]
        layer.set("caps.added_as_written", added, where)  # the runtime's own names
        layer.set("caps.dropped_as_written", dropped, where)
    layer.set("caps.added", added, where)
    layer.set("caps.dropped", dropped, where)


def _seccomp_profile(c: CRIContainer, spec: Raw, config: Raw) -> tuple[str | None, str]:
    if _privileged(c, config):
        return "unconfined", f"CRI: ContainerConfig.{SC}.privileged"
    return _seccomp_request(spec, config)


def _seccomp_request(spec: Raw, config: Raw) -> tuple[str | None, str]:
    """The profile the kubelet asked for (privileged aside), None when unknown."""
    if not config:
        if get(spec, "linux.seccomp", dict, None) is None:
            return "unconfined", "OCI spec: no linux.seccomp"
        return None, "a filter is set; whose profile it is, only the kubelet's request says"
    profile = get(config, f"{SC}.seccomp", dict, None)
    if profile is not None:
        kind = get(profile, "profile_type", int, 0)
        where = f"CRI: ContainerConfig.{SC}.seccomp"
        if kind == 1:
            where += " Unconfined (the kubelet also sends it for a pod without seccompProfile)"
        return _SECCOMP_TYPES.get(kind, f"unknown ({kind})"), where
    path = get(config, f"{SC}.seccomp_profile_path", str, "")
    where = f"CRI: ContainerConfig.{SC}.seccomp_profile_path"
    if path == "":
        where += " (unset: the runtime runs the container unconfined)"
    if path.startswith("localhost/"):
        return "custom", where
    return _SECCOMP_PATHS.get(path, path), where


_APPARMOR_TYPES = {0: "runtime/default", 1: "unconfined"}  # CRI SecurityProfile; 2 Localhost


def _requests(layer: LayerBuilder, c: CRIContainer, spec: Raw, config: Raw) -> None:
    """What Pod Security judges, as the kubelet asked the runtime (it merged the pod's and
    the container's fields: a level each container overrides is not seen here)."""
    request, where = _seccomp_request(spec, config)
    if request is None:
        layer.unavailable("seccomp.requested", where)
    else:
        layer.set("seccomp.requested", [request], where)
    layer.unavailable("seccomp.annotated", "the kubelet passes no alpha seccomp annotations")
    asked = get(config, f"{SC}.apparmor", dict, None) if config else None
    legacy = get(config, f"{SC}.apparmor_profile", str, "") if config else ""
    where = f"CRI: ContainerConfig.{SC}.apparmor"
    if asked is not None:
        kind = get(asked, "profile_type", int, 0)
        ref = "localhost/" + get(asked, "localhost_ref", str, "")
        layer.set("apparmor.requested", [_APPARMOR_TYPES.get(kind, ref)], where)
    elif legacy or config:
        layer.set("apparmor.requested", [legacy] if legacy else [], where)
    else:
        applied = get(spec, "process.apparmorProfile", str, "")
        value = applied if applied in ("", "unconfined") else f"localhost/{applied}"
        layer.set(
            "apparmor.requested", [value] if value else [], "OCI spec process.apparmorProfile"
        )
    options = get(config, f"{SC}.selinux_options", dict, None) if config else None
    if options is not None:
        parts = {k: get(options, k, str, "") for k in ("user", "role", "type")}
        where = f"CRI: ContainerConfig.{SC}.selinux_options"
    else:  # the runtime's own label: only its type says what was asked
        label = get(spec, "process.selinuxLabel", str, "")
        parts = {"user": "", "role": "", "type": selinux_parts(label)["type"]}
        where = "OCI spec process.selinuxLabel (its type)"
    layer.set("selinux.requested", [parts] if any(parts.values()) else [], where)
    masked = get(config, f"{SC}.masked_paths", list, []) if config else None
    if masked is None:
        masked, where = get(spec, "linux.maskedPaths", list, []), "OCI spec linux.maskedPaths"
    else:
        where = f"CRI: ContainerConfig.{SC}.masked_paths"
    unmasked = not masked and not _privileged(c, config)  # privileged is its own finding
    layer.set("proc_mount", "Unmasked" if unmasked else "", where + (" (none)" if unmasked else ""))


def security(layer: LayerBuilder, c: CRIContainer, spec: Raw, config: Raw) -> None:
    filters = get(spec, "linux.seccomp", dict, None)
    where = "OCI spec linux.seccomp"
    if filters is None:
        layer.set("seccomp.mode", "disabled", where + " (none)")
        layer.set("seccomp.allows_all", True, where + " (none)")
    else:
        rules = get(filters, "syscalls", list, [])
        allows_all = get(filters, "defaultAction", str, "") in ALLOWING and all(
            isinstance(r, dict) and r.get("action") in ALLOWING for r in rules
        )
        layer.set("seccomp.mode", "filter", where)
        layer.set("seccomp.allows_all", allows_all, where)
    profile, origin = _seccomp_profile(c, spec, config)
    if profile is None:
        layer.unavailable("seccomp.profile", origin)
    else:
        layer.set("seccomp.profile", profile, origin)
    _requests(layer, c, spec, config)
    layer.set(
        "no_new_privs",
        get(spec, "process.noNewPrivileges", bool, False),
        "OCI spec process.noNewPrivileges",
    )
    applied = get(spec, "process.apparmorProfile", str, "")
    asked = get(config, f"{SC}.apparmor", dict, None) if config else None
    legacy = get(config, f"{SC}.apparmor_profile", str, "") if config else ""
    if _privileged(c, config):
        layer.set("apparmor.profile", "unconfined", f"CRI: ContainerConfig.{SC}.privileged")
    elif (asked is not None and get(asked, "profile_type", int, 0) == 1) or legacy == "unconfined":
        layer.set("apparmor.profile", "unconfined", f"CRI: ContainerConfig.{SC}.apparmor")
    else:
        layer.set(
            "apparmor.profile", applied, "OCI spec process.apparmorProfile ('' = none applied)"
        )
    label = get(spec, "process.selinuxLabel", str, "")
    layer.set("selinux.label", label, "OCI spec process.selinuxLabel")
    options = get(config, f"{SC}.selinux_options", dict, None) if config else None
    if options is not None:
        parts = {k: get(options, k, str, "") for k in ("user", "role", "type")}
        where = f"CRI: ContainerConfig.{SC}.selinux_options"
    else:
        parts, where = selinux_parts(label), "OCI spec process.selinuxLabel"
    for part in ("user", "role", "type"):
        layer.set(f"selinux.{part}", parts[part], where)
    for fact in ("lsm.apparmor_enabled", "lsm.selinux_enabled"):
        layer.unavailable(fact, "the CRI does not say whether the node enforces it")


_NODE = 2  # CRI NamespaceMode NODE: the host's namespace (POD 0, CONTAINER 1, TARGET 3)
_REQUESTED = {"pid": "pid", "network": "network", "ipc": "ipc", "uts": "network"}


def _spec_namespaces(spec: Raw) -> dict[str, str]:
    """OCI namespace type -> the path it joins ('' for a new namespace)."""
    return {
        get(entry, "type", str): get(entry, "path", str, "")
        for entry in get(spec, "linux.namespaces", list, [])
    }


def _namespace(kind: str, spec: Raw, sandbox: Raw, options: Raw | None) -> tuple[str | None, str]:
    """(host | private | None when unknown, origin) of one namespace kind."""
    if options is not None and kind in _REQUESTED:
        asked = _REQUESTED[kind]
        mode = get(options, asked, int, 0)
        where = f"CRI: ContainerConfig.{SC}.namespace_options.{asked}"
        return ("host" if mode == _NODE else "private"), where
    if options is not None and kind == "user":
        userns = get(options, "userns_options", dict, None)
        mode = get(userns, "mode", int, 0) if userns is not None else _NODE
        return ("host" if mode == _NODE else "private"), f"CRI: {SC}.namespace_options.userns"
    mine = _spec_namespaces(spec)
    where = f"OCI spec linux.namespaces: {kind}"
    if kind not in mine:
        return "host", f"OCI spec linux.namespaces: no {kind} namespace (the host's)"
    if not mine[kind]:
        return "private", where
    if not sandbox:  # it joins another namespace: the pod sandbox's, whose spec says which
        return None, "the container joins its pod's namespace; the pod's spec could not be read"
    pods = _spec_namespaces(get(sandbox, "runtimeSpec", dict, {}))
    return ("private" if kind in pods else "host"), where + " (its pod sandbox's)"


def namespaces(layer: LayerBuilder, c: CRIContainer, spec: Raw, config: Raw) -> None:
    options = get(config, f"{SC}.namespace_options", dict, {}) if config else None
    for kind, fact in _NAMESPACES.items():
        mode, where = _namespace(kind, spec, c.sandbox, options)
        if mode is None:
            layer.fail(f"namespaces.{fact}", where)
        else:
            layer.set(f"namespaces.{fact}", mode, where)
    layer.set("userns.mode", "", "CRI: no daemon-wide remapping to opt out of")
    userns, where = _namespace("user", spec, c.sandbox, options)
    if userns is None:
        layer.fail("userns.requested", where)
    else:
        layer.set("userns.requested", userns == "private", where)
    net, where = _namespace("network", spec, c.sandbox, options)
    if net is None:
        layer.fail("network.mode", where)
    else:
        layer.set("network.mode", "host" if net == "host" else "pod", where)


def resources(layer: LayerBuilder, _c: CRIContainer, spec: Raw, _config: Raw) -> None:
    res = "linux.resources"
    memory = get(spec, f"{res}.memory.limit", int, 0)
    layer.set("resources.memory", max(memory, 0), f"OCI spec {res}.memory.limit")
    quota = get(spec, f"{res}.cpu.quota", int, 0)
    period = get(spec, f"{res}.cpu.period", int, 0) or 100_000
    millis = quota * 1000 // period if quota > 0 else 0
    layer.set("resources.cpu_millis", millis, f"OCI spec {res}.cpu.quota / period")
    layer.set(
        "resources.cpu_shares", get(spec, f"{res}.cpu.shares", int, 0), f"OCI spec {res}.cpu.shares"
    )
    pids = get(spec, f"{res}.pids.limit", int, 0)
    layer.set("resources.pids", max(pids, 0), f"OCI spec {res}.pids.limit")
    parent = get(spec, "linux.cgroupsPath", str, "")
    layer.set(
        "resources.cgroup_parent",
        "",
        f"OCI spec linux.cgroupsPath {parent!r}: the kubelet's pod cgroup",
    )
    ulimits = [
        {
            "name": get(r, "type", str).lower().removeprefix("rlimit_"),
            "soft": get(r, "soft", int, 0),
            "hard": get(r, "hard", int, 0),
        }
        for r in get(spec, "process.rlimits", list, [])
    ]
    layer.set("resources.ulimits", ulimits, "OCI spec process.rlimits")


def _propagation(options: list[str]) -> str:
    if {"shared", "rshared"} & set(options):
        return "shared"
    if {"slave", "rslave"} & set(options):
        return "slave"
    return "private"


def filesystem(layer: LayerBuilder, c: CRIContainer, spec: Raw, _config: Raw) -> None:
    layer.set("rootfs.read_only", get(spec, "root.readonly", bool, False), "OCI spec root.readonly")
    mounts = []
    for entry in get(spec, "mounts", list, []):
        options = [str(o) for o in get(entry, "options", list, [])]
        kind = get(entry, "type", str, "")
        if kind != "bind" and "bind" not in options and "rbind" not in options:
            continue  # proc, sysfs, tmpfs, devpts, mqueue: not host paths
        mounts.append(
            {
                "source": get(entry, "source", str, ""),
                "destination": get(entry, "destination", str),
                "type": "bind",
                "rw": "ro" not in options,
                "propagation": _propagation(options),
            }
        )
    layer.set("mounts", mounts, "OCI spec mounts (bind mounts)")
    for fact, key in (("masked_paths", "maskedPaths"), ("readonly_paths", "readonlyPaths")):
        paths = get(spec, f"linux.{key}", list, [])
        layer.set(fact, sorted(str(p) for p in paths), f"OCI spec linux.{key}")
    layer.set(
        "volume_types",
        sorted(c.pod_volume_types),
        f"CRI: the pod's mounts, by the kubelet's volume directories ({volumes.RULE})",
    )


def devices(layer: LayerBuilder, _c: CRIContainer, spec: Raw, config: Raw) -> None:
    hosts = {
        get(d, "container_path", str, ""): get(d, "host_path", str, "")
        for d in (get(config, "devices", list, []) if config else [])
    }
    passed = []
    for entry in get(spec, "linux.devices", list, []):
        path = get(entry, "path", str, "")
        passed.append(
            {"host_path": hosts.get(path, path), "container_path": path, "permissions": "rwm"}
        )
    layer.set("devices.passed", passed, "OCI spec linux.devices")
    everything = False
    for rule in get(spec, "linux.resources.devices", list, []):
        if (
            get(rule, "allow", bool, False)
            and get(rule, "type", str, "a") == "a"
            and get(rule, "major", int, None) is None
            and get(rule, "minor", int, None) is None
            and set("rwm") <= set(get(rule, "access", str, "rwm"))
        ):
            everything = True
    layer.set("devices.all_allowed", everything, "OCI spec linux.resources.devices")


def _kubelet_ports(text: str) -> list[Raw]:
    try:
        ports = json.loads(text)
    except ValueError as exc:
        raise BadField(f"annotations.{PORTS_ANNOTATION}", f"is not JSON: {exc}") from None
    if not isinstance(ports, list):
        raise BadField(f"annotations.{PORTS_ANNOTATION}", "is not a list")
    return [
        {
            "container_port": get(p, "containerPort", int, 0),
            "protocol": get(p, "protocol", str, "TCP").lower(),
            "host_ip": get(p, "hostIP", str, ""),
            "host_port": get(p, "hostPort", int, 0),
        }
        for p in ports
    ]


def runtime(layer: LayerBuilder, c: CRIContainer, spec: Raw, _config: Raw) -> None:
    if PORTS_ANNOTATION in c.annotations:
        ports = _kubelet_ports(c.annotations[PORTS_ANNOTATION])
        where = f"CRI: container annotation {PORTS_ANNOTATION}"
    elif KUBELET_ANNOTATION in c.annotations:
        ports, where = [], "CRI: a kubelet container without ports"
    elif isinstance(c.sandbox.get("config"), dict):
        ports = [
            {
                "container_port": get(p, "container_port", int, 0),
                "protocol": ("tcp", "udp", "sctp")[get(p, "protocol", int, 0) % 3],
                "host_ip": get(p, "host_ip", str, ""),
                "host_port": get(p, "host_port", int, 0),
            }
            for p in get(c.sandbox["config"], "port_mappings", list, [])
        ]
        where = "CRI: PodSandboxConfig.port_mappings (the whole pod's)"
    else:
        raise BadField("port_mappings", "the pod sandbox's configuration could not be read")
    layer.set("network.ports", [p for p in ports if p["host_port"]], where)
    for fact in ("restart.policy", "restart.max_retries"):
        layer.unavailable(fact, "the kubelet restarts containers with a back-off")
    layer.unavailable("healthcheck.configured", NO_PROBES)
    layer.unavailable("probe_hosts", NO_PROBES)
    layer.unavailable("exec_sessions", "the CRI does not list exec sessions")
    sysctls = dict(get(spec, "linux.sysctl", dict, {}))
    where = "OCI spec linux.sysctl"
    if c.sandbox:  # pod sysctls are set on the sandbox, whose namespaces the container joins
        sysctls.update(get(c.sandbox, "runtimeSpec.linux.sysctl", dict, {}))
        where += " (the container's and its pod sandbox's)"
    else:
        raise BadField("sysctls", "the pod sandbox's verbose status could not be read")
    layer.set("sysctls", {str(k): str(v) for k, v in sysctls.items()}, where)


STEPS: tuple[tuple[tuple[str, ...], Step], ...] = (
    (("id", "name", "image", "labels", "annotations", "runtime"), identity),
    (
        (
            "user.uid",
            "user.name",
            "user.run_as_non_root",
            "user.requested_uids",
            "windows.host_process",
            "os",
        ),
        user,
    ),
    (CAPABILITY_FACTS, capabilities),
    (SECURITY_FACTS, security),
    ((*NAMESPACE_FACTS, "network.mode"), namespaces),
    (RESOURCE_FACTS, resources),
    (("rootfs.read_only", "mounts", "masked_paths", "readonly_paths", "volume_types"), filesystem),
    (("devices.passed", "devices.all_allowed"), devices),
    (
        (
            "network.ports",
            "restart.policy",
            "restart.max_retries",
            "healthcheck.configured",
            "probe_hosts",
            "exec_sessions",
            "sysctls",
        ),
        runtime,
    ),
)
_SPEC_FREE = frozenset({identity})  # steps that read nothing of the runtime spec


def collect(c: CRIContainer) -> LayerBuilder:
    """The declared facts of one CRI container."""
    layer = LayerBuilder(Layer.DECLARED)
    config = c.info.get("config")
    config = config if isinstance(config, dict) else {}
    try:
        spec = _spec(c)
    except BadField as exc:
        spec, missing = {}, f"CRI: {c.problems[0] if c.problems else exc}"
    else:
        missing = ""
    for paths, step in STEPS:
        if missing and step not in _SPEC_FREE:
            layer.fail_all(paths, missing)
            continue
        try:
            step(layer, c, spec, config)
        except BadField as exc:
            layer.fail_all(paths, f"CRI: {exc}")
    return layer
