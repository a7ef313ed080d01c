"""Pod-level facts of one Kubernetes container: host namespaces, resources, volumes, ports."""

from __future__ import annotations

from typing import Any

from harden.audit.sources.docker.fields import BadField
from harden.audit.sources.kubernetes.pod import SC, PodContainer, PodFacts
from harden.audit.sources.located import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, quantity
from harden.audit.state.facts import mounts_in_order
from harden.audit.state.model import LayerBuilder

_PROPAGATION = {"Bidirectional": "shared", "HostToContainer": "slave"}
# Volume kinds that do not reach into the node (PSS Restricted); the line of the first
# other kind is where a volume finding points.
_RESTRICTED_VOLUMES = frozenset(
    (
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    )
)


def namespaces(pc: PodContainer, layer: LayerBuilder) -> None:
    for path, value, origin, line in pc.pod_facts("namespaces", _pod_namespaces):
        layer.set(path, value, origin, line)
    layer.unavailable(
        "namespaces.cgroup", "private on cgroup v2 nodes, shared on v1: the node decides"
    )


def _pod_namespaces(pc: PodContainer) -> PodFacts:
    pod = pc.pod
    out: list[tuple[str, Any, str, int | None]] = []
    written: dict[str, tuple[bool | None, str, int | None]] = {}
    for key in ("hostNetwork", "hostPID", "hostIPC", "hostUsers"):
        value = pod.get((key,), bool, None)
        line = pod.line(key) if value is not None else None
        written[key] = (value, pc.origin(pod, key), line)
    for kind, key in (("net", "hostNetwork"), ("pid", "hostPID"), ("ipc", "hostIPC")):
        value, origin, line = written[key]
        suffix = "" if value is not None else " (not set)"
        out.append((f"namespaces.{kind}", "host" if value else "private", origin + suffix, line))
    host_net, origin, line = written["hostNetwork"]
    out += [
        (
            "namespaces.uts",
            "host" if host_net else "private",
            origin + " (a host-network pod has the host's UTS namespace)",
            line,
        ),
        ("network.mode", "host" if host_net else "pod", origin, None),
        ("namespaces.mnt", "private", pc.origin(pod) + ": every container has one", None),
        ("userns.mode", "", pc.origin(pod) + ": no daemon-wide remapping to opt out of", None),
    ]
    users, origin, line = written["hostUsers"]
    origin += "" if users is not None else " (not set: true)"
    out.append(("namespaces.user", "private" if users is False else "host", origin, line))
    out.append(("userns.requested", users is False, origin, line))  # hostUsers: false asks
    return tuple(out)


def resources(pc: PodContainer, layer: LayerBuilder) -> None:
    c = pc.c
    limits = ("resources", "limits")
    memory = (
        quantity(c.raw(*limits, "memory"), "resources.limits.memory")
        if c.has(*limits, "memory")
        else 0
    )
    layer.set(
        "resources.memory",
        int(memory),
        pc.origin(c, *limits, "memory"),
        c.line(*limits, "memory") if memory else c.line(),
    )
    cpu = quantity(c.raw(*limits, "cpu"), "resources.limits.cpu") if c.has(*limits, "cpu") else 0
    layer.set(
        "resources.cpu_millis",
        round(cpu * 1000),
        pc.origin(c, *limits, "cpu"),
        c.line(*limits, "cpu") if cpu else c.line(),
    )
    requests = ("resources", "requests", "cpu")
    request = quantity(c.raw(*requests), "resources.requests.cpu") if c.has(*requests) else 0
    shares = round(request * 1024) if request else 0  # the kubelet's cpu.shares from requests
    layer.set("resources.cpu_shares", shares, pc.origin(c, *requests), c.line(*requests))
    layer.unavailable("resources.pids", "set per node (the kubelet's podPidsLimit)")
    layer.set("resources.cgroup_parent", "", pc.origin(c) + ": the kubelet's pod cgroup")
    layer.set("resources.ulimits", [], pc.origin(c) + ": not settable per pod")


def _volumes(pc: PodContainer) -> dict[str, tuple[str, dict[str, Any], int | None]]:
    """name -> (source kind, source settings, line) of every pod volume."""
    out: dict[str, tuple[str, dict[str, Any], int | None]] = {}
    for index, volume in enumerate(pc.pod.get(("volumes",), list, [])):
        if not isinstance(volume, dict) or not isinstance(volume.get("name"), str):
            raise BadField(pc.pod.dotted("volumes", index), "a volume needs a name")
        kinds = [k for k in volume if k != "name"]
        kind = kinds[0] if kinds else "emptyDir"
        settings = volume[kind] if isinstance(volume.get(kind), dict) else {}
        out[volume["name"]] = (kind, settings, pc.pod.line("volumes", index, kind))
    return out


def filesystem(pc: PodContainer, layer: LayerBuilder) -> None:
    c = pc.c
    ro = c.get((SC, "readOnlyRootFilesystem"), bool, False)
    where = (SC, "readOnlyRootFilesystem")
    layer.set(
        "rootfs.read_only",
        ro,
        pc.origin(c, *where),
        c.line(*where) if c.has(*where) else c.line(SC) or c.line(),
    )
    volumes = _volumes(pc)
    odd = [line for kind, _, line in volumes.values() if kind not in _RESTRICTED_VOLUMES]
    layer.set(
        "volume_types",
        sorted({kind for kind, _, _ in volumes.values()}),
        pc.origin(pc.pod, "volumes"),
        odd[0] if odd else pc.pod.line("volumes"),
    )
    mounts, devices, first = [], [], None
    for index, mount in enumerate(c.get(("volumeMounts",), list, [])):
        if not isinstance(mount, dict):
            raise BadField(c.dotted("volumeMounts", index), "must be a map")
        kind, settings, line = volumes.get(str(mount.get("name")), ("", {}, None))
        if kind != "hostPath":
            continue
        path = str(settings.get("path", ""))
        first = first or line or c.line("volumeMounts", index)
        if settings.get("type") in ("CharDevice", "BlockDevice"):
            devices.append(
                {
                    "host_path": path,
                    "container_path": str(mount.get("mountPath", "")),
                    "permissions": "rwm",
                }
            )
        mounts.append(
            {
                "source": path,
                "destination": str(mount.get("mountPath", "")),
                "type": "bind",
                "rw": mount.get("readOnly") is not True,
                "propagation": _PROPAGATION.get(str(mount.get("mountPropagation", "")), "private"),
            }
        )
    origin = pc.origin(c, "volumeMounts") + " (hostPath volumes)"
    layer.set("mounts", mounts_in_order(mounts), origin, first or c.line())
    privileged = c.get((SC, "privileged"), bool, False)
    unmasked = c.get((SC, "procMount"), str, "Default") == "Unmasked" or privileged
    where = (SC, "procMount")
    origin = pc.origin(c, *where) + ("" if c.has(*where) else " (not set: runtime defaults)")
    line = c.line(*where) if c.has(*where) else None
    if privileged:
        origin, line = pc.origin(c, SC, "privileged"), c.line(SC, "privileged")
    layer.set("masked_paths", [] if unmasked else list(DEFAULT_MASKED_PATHS), origin, line)
    layer.set("readonly_paths", [] if unmasked else list(DEFAULT_READONLY_PATHS), origin, line)
    layer.set(
        "devices.passed", devices, pc.origin(c, "volumeMounts") + " (device hostPaths)", first
    )
    layer.set("devices.all_allowed", privileged, pc.origin(c, SC, "privileged"), c.line(SC))


def network(pc: PodContainer, layer: LayerBuilder) -> None:
    c = pc.c
    ports, first = [], None
    for index, port in enumerate(c.get(("ports",), list, [])):
        if not isinstance(port, dict):
            raise BadField(c.dotted("ports", index), "must be a map")
        host_port = port.get("hostPort") or 0
        if not isinstance(host_port, int) or isinstance(host_port, bool):
            raise BadField(c.dotted("ports", index, "hostPort"), "must be an integer")
        if host_port:
            first = first or c.line("ports", index, "hostPort")
            ports.append(
                {
                    "container_port": port.get("containerPort")
                    if isinstance(port.get("containerPort"), int)
                    else 0,
                    "protocol": str(port.get("protocol", "TCP")).lower(),
                    "host_ip": str(port.get("hostIP", "")),
                    "host_port": host_port,
                }
            )
    layer.set("network.ports", ports, pc.origin(c, "ports") + " (hostPort)", first or c.line())
    sysctls: dict[str, str] = {}
    for index, item in enumerate(pc.pod.get((SC, "sysctls"), list, [])):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadField(pc.pod.dotted(SC, "sysctls", index), "needs a name")
        sysctls[item["name"]] = str(item.get("value", ""))
    layer.set("sysctls", sysctls, pc.origin(pc.pod, SC, "sysctls"), pc.pod.line(SC, "sysctls"))


def runtime(pc: PodContainer, layer: LayerBuilder) -> None:
    c = pc.c
    layer.unavailable("restart.policy", "the kubelet restarts containers with a back-off")
    layer.unavailable("restart.max_retries", "the kubelet restarts containers with a back-off")
    if pc.ctype != "container" or pc.workload.kind in ("Job", "CronJob"):
        layer.unavailable(
            "healthcheck.configured", f"probes do not apply to {pc.ctype}s of a {pc.workload.kind}"
        )
    else:
        probes = [p for p in ("livenessProbe", "readinessProbe", "startupProbe") if c.has(p)]
        line = c.line(probes[0]) if probes else c.line()
        layer.set(
            "healthcheck.configured",
            bool(probes),
            pc.origin(c, *(probes[:1] or ["livenessProbe"])),
            line,
        )
    layer.unavailable("exec_sessions", "exec sessions exist only on a running node")
