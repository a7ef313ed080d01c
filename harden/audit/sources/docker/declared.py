"""The declared layer of a container, from its Docker or Podman inspect object.

One step per group of facts. Each step names the facts it sets; if it raises
:class:`BadField`, exactly those facts become *failed* with the field and the problem
as the reason, so one odd field never hides the rest of the container.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harden.audit.sources.docker.fields import (
    BadField,
    EngineDefaults,
    bounding_set,
    cap_names,
    get,
    namespace_mode,
    parse_user,
    propagation_mode,
    seccomp_facts,
    security_opts,
    selinux_parts,
)
from harden.audit.state.facts import mounts_in_order
from harden.audit.state.model import Layer, LayerBuilder

Raw = dict[str, Any]
PODMAN_PARENTS = frozenset({"machine.slice", "user.slice", "libpod_parent"})
Step = Callable[[LayerBuilder, Raw, str, EngineDefaults], None]


def identity(layer: LayerBuilder, raw: Raw, origin: str, _d: EngineDefaults) -> None:
    layer.set("id", get(raw, "Id", str), f"{origin}: Id")
    layer.set("name", get(raw, "Name", str, "").lstrip("/"), f"{origin}: Name")
    image = get(raw, "Config.Image", str, "") or get(raw, "ImageName", str, "")
    layer.set("image", image, f"{origin}: Config.Image")
    labels = get(raw, "Config.Labels", dict, {})
    layer.set("labels", {str(k): str(v) for k, v in labels.items()}, f"{origin}: Config.Labels")
    podman = "OCIRuntime" in raw or "EffectiveCaps" in raw
    layer.set("runtime", "podman" if podman else "docker", f"{origin}: inspect format")
    layer.set("os", get(raw, "Platform", str, "") or "linux", f"{origin}: Platform")


def user(layer: LayerBuilder, raw: Raw, origin: str, _d: EngineDefaults) -> None:
    name = get(raw, "Config.User", str, "")
    layer.set("user.name", name, f"{origin}: Config.User")
    uid = parse_user(name)
    asked = [uid] if name and uid is not None else []  # '' is the image's user
    layer.set("user.requested_uids", asked, f"{origin}: Config.User {name!r}")
    if uid is None:
        layer.unavailable(
            "user.uid",
            f"user {name!r} is a name; its uid is in the image's "
            "/etc/passwd, which harden does not read",
        )
    else:
        layer.set("user.uid", uid, f"{origin}: Config.User {name!r}")


def capabilities(layer: LayerBuilder, raw: Raw, origin: str, _d: EngineDefaults) -> None:
    privileged = get(raw, "HostConfig.Privileged", bool, False)
    added = cap_names(get(raw, "HostConfig.CapAdd", list, []))
    dropped = cap_names(get(raw, "HostConfig.CapDrop", list, []))
    layer.set("privileged", privileged, f"{origin}: HostConfig.Privileged")
    layer.set("caps.added", added, f"{origin}: HostConfig.CapAdd")
    layer.set("caps.dropped", dropped, f"{origin}: HostConfig.CapDrop")
    # the engine accepts any spelling: what it stored is what it grants
    layer.set("caps.added_as_written", added, f"{origin}: HostConfig.CapAdd")
    layer.set("caps.dropped_as_written", dropped, f"{origin}: HostConfig.CapDrop")
    if isinstance(raw.get("BoundingCaps"), list):  # podman reports the sets it computed
        bounding = cap_names(raw["BoundingCaps"])
        where = f"{origin}: BoundingCaps"
    else:
        bounding = bounding_set(privileged, added, dropped)
        where = f"{origin}: engine defaults + HostConfig.CapAdd - HostConfig.CapDrop"
    layer.set("caps.bounding", bounding, where)
    if isinstance(raw.get("EffectiveCaps"), list):
        layer.set("caps.effective", cap_names(raw["EffectiveCaps"]), f"{origin}: EffectiveCaps")
        return
    uid = parse_user(get(raw, "Config.User", str, ""))
    if uid is None:
        layer.unavailable("caps.effective", "depends on the uid of a named user")
    else:
        layer.set("caps.effective", bounding if uid == 0 else [], f"{where} (uid {uid})")


def security(layer: LayerBuilder, raw: Raw, origin: str, d: EngineDefaults) -> None:
    opts = security_opts(get(raw, "HostConfig.SecurityOpt", list, []))
    privileged = get(raw, "HostConfig.Privileged", bool, False)
    where = f"{origin}: HostConfig.SecurityOpt"
    profile, mode, allows_all = seccomp_facts(opts, privileged)
    layer.set("seccomp.profile", profile, where)
    layer.set("seccomp.mode", mode, where)
    layer.set("seccomp.allows_all", allows_all, where)
    asked = seccomp_facts(opts, privileged=False)[0]  # what privileged implies is its own fact
    layer.set("seccomp.requested", [asked], where + ("" if "seccomp" in opts else " (not set)"))
    layer.set("seccomp.annotated", [], f"{origin}: an engine has no seccomp annotations")
    nnp = opts.get("no-new-privileges")
    if nnp is not None:
        layer.set("no_new_privs", nnp in ("true", ""), where)
    elif d.no_new_privileges is not None:
        layer.set("no_new_privs", d.no_new_privileges, f"{origin}: daemon no-new-privileges")
    else:
        layer.set("no_new_privs", False, where)
    asked_apparmor = opts.get("apparmor")
    if asked_apparmor is None:
        layer.set("apparmor.requested", [], f"{where} (not set)")
    else:
        value = asked_apparmor if asked_apparmor == "unconfined" else f"localhost/{asked_apparmor}"
        layer.set("apparmor.requested", [value], where)
    apparmor = opts.get("apparmor") or get(raw, "AppArmorProfile", str, "")
    layer.set(
        "apparmor.profile", "unconfined" if privileged else apparmor, f"{origin}: AppArmorProfile"
    )
    labels = opts.get("label", "")
    disabled = "disable" in labels.split(",") or privileged
    selinux = "disabled" if disabled else get(raw, "ProcessLabel", str, "")
    layer.set("selinux.label", selinux, f"{origin}: ProcessLabel / label options")
    parts = selinux_parts(selinux, labels)
    for part in ("user", "role", "type"):
        layer.set(f"selinux.{part}", parts[part], f"{origin}: ProcessLabel / label options")
    # the docker CLI turns systempaths=unconfined into empty MaskedPaths (privileged: null)
    masked = get(raw, "HostConfig.MaskedPaths", list, None)
    unmasked = opts.get("systempaths") == "unconfined" or (masked == [] and not privileged)
    layer.set(
        "proc_mount", "Unmasked" if unmasked else "", where + ("" if unmasked else " (not set)")
    )
    label_options = selinux_parts("", labels)  # the options alone, not the engine's label
    layer.set("selinux.requested", [label_options] if any(label_options.values()) else [], where)
    for fact, known in (("lsm.apparmor_enabled", d.apparmor), ("lsm.selinux_enabled", d.selinux)):
        if known is None:
            layer.unavailable(fact, "the engine's security options are not known to this source")
        else:
            layer.set(fact, known, f"{origin}: engine SecurityOptions")


def namespaces(layer: LayerBuilder, raw: Raw, origin: str, d: EngineDefaults) -> None:
    hc = "HostConfig"
    for kind, key in (
        ("pid", "PidMode"),
        ("net", "NetworkMode"),
        ("ipc", "IpcMode"),
        ("uts", "UTSMode"),
    ):
        mode = get(raw, f"{hc}.{key}", str, "")
        layer.set(f"namespaces.{kind}", namespace_mode(mode), f"{origin}: {hc}.{key} {mode!r}")
    layer.set("namespaces.mnt", "private", f"{origin}: every container has a mount namespace")
    userns = get(raw, f"{hc}.UsernsMode", str, "")
    layer.set("userns.mode", userns, f"{origin}: {hc}.UsernsMode")
    own = userns not in ("", "host") and not userns.startswith("container:")  # podman: auto, ...
    layer.set("userns.requested", own, f"{origin}: {hc}.UsernsMode {userns!r}")
    if userns == "host" or d.userns_remap is False:
        layer.set("namespaces.user", "host", f"{origin}: {hc}.UsernsMode {userns!r}, no remap")
    elif d.userns_remap:
        layer.set("namespaces.user", "private", f"{origin}: daemon userns-remap")
    else:
        layer.unavailable("namespaces.user", "whether the daemon remaps users is not known")
    cgroupns = (  # podman calls it CgroupMode
        get(raw, f"{hc}.CgroupnsMode", str, "")
        or get(raw, f"{hc}.CgroupMode", str, "")
        or d.cgroupns_mode
        or ""
    )
    if cgroupns in ("host", "private"):
        layer.set("namespaces.cgroup", cgroupns, f"{origin}: {hc}.CgroupnsMode")
    else:
        layer.unavailable("namespaces.cgroup", "the engine's default cgroupns mode is not known")


def resources(layer: LayerBuilder, raw: Raw, origin: str, _d: EngineDefaults) -> None:
    hc = "HostConfig"
    layer.set("resources.memory", get(raw, f"{hc}.Memory", int, 0), f"{origin}: {hc}.Memory")
    nano = get(raw, f"{hc}.NanoCpus", int, 0)
    quota = get(raw, f"{hc}.CpuQuota", int, 0)
    period = get(raw, f"{hc}.CpuPeriod", int, 0) or 100_000
    millis = nano // 1_000_000 if nano else (quota * 1000 // period if quota > 0 else 0)
    layer.set("resources.cpu_millis", millis, f"{origin}: {hc}.NanoCpus / CpuQuota")
    shares = get(raw, f"{hc}.CpuShares", int, 0)
    layer.set("resources.cpu_shares", 0 if shares == 1024 else shares, f"{origin}: {hc}.CpuShares")
    pids = get(raw, f"{hc}.PidsLimit", int, 0)
    layer.set("resources.pids", max(pids, 0), f"{origin}: {hc}.PidsLimit")
    parent = get(raw, f"{hc}.CgroupParent", str, "")
    if "OCIRuntime" in raw and parent.strip("/") in PODMAN_PARENTS:
        parent = ""  # podman always names its default parent
    layer.set("resources.cgroup_parent", parent, f"{origin}: {hc}.CgroupParent")
    ulimits = [
        {
            "name": str(get(u, "Name", str)),
            "soft": get(u, "Soft", int, 0),
            "hard": get(u, "Hard", int, 0),
        }
        for u in get(raw, f"{hc}.Ulimits", list, [])
    ]
    layer.set("resources.ulimits", ulimits, f"{origin}: {hc}.Ulimits")


def filesystem(layer: LayerBuilder, raw: Raw, origin: str, _d: EngineDefaults) -> None:
    hc = "HostConfig"
    ro = get(raw, f"{hc}.ReadonlyRootfs", bool, False)
    layer.set("rootfs.read_only", ro, f"{origin}: {hc}.ReadonlyRootfs")
    mounts = []
    for entry in get(raw, "Mounts", list, []):
        kind = get(entry, "Type", str, "bind")
        if kind not in ("bind", "volume"):
            continue
        mounts.append(
            {
                "source": get(entry, "Source", str, ""),
                "destination": get(entry, "Destination", str),
                "type": kind,
                "rw": get(entry, "RW", bool, True),
                "propagation": propagation_mode(get(entry, "Propagation", str, "")),
            }
        )
    layer.set("mounts", mounts_in_order(mounts), f"{origin}: Mounts")
    privileged = get(raw, f"{hc}.Privileged", bool, False)
    for fact, key in (("masked_paths", "MaskedPaths"), ("readonly_paths", "ReadonlyPaths")):
        value = get(raw, f"{hc}.{key}", list, None)
        if privileged:
            layer.set(fact, [], f"{origin}: {hc}.Privileged")
        elif value is None:
            layer.unavailable(fact, f"this engine does not report {hc}.{key}")
        else:
            layer.set(fact, sorted(str(p) for p in value), f"{origin}: {hc}.{key}")


def devices(layer: LayerBuilder, raw: Raw, origin: str, _d: EngineDefaults) -> None:
    hc = "HostConfig"
    passed = [
        {
            "host_path": get(d, "PathOnHost", str, ""),
            "container_path": get(d, "PathInContainer", str, ""),
            "permissions": get(d, "CgroupPermissions", str, "rwm"),
        }
        for d in get(raw, f"{hc}.Devices", list, [])
    ]
    rules = [str(r) for r in get(raw, f"{hc}.DeviceCgroupRules", list, [])]
    passed += [{"host_path": r, "container_path": "", "permissions": ""} for r in rules]
    layer.set("devices.passed", passed, f"{origin}: {hc}.Devices / DeviceCgroupRules")
    privileged = get(raw, f"{hc}.Privileged", bool, False)
    everything = privileged or any(r.startswith("a ") for r in rules)
    layer.set("devices.all_allowed", everything, f"{origin}: {hc}.Privileged / DeviceCgroupRules")


def _ports(raw: Raw) -> list[dict[str, Any]]:
    live = get(raw, "NetworkSettings.Ports", dict, {})
    bindings = live if any(live.values()) else get(raw, "HostConfig.PortBindings", dict, {})
    out = []
    for key, hosts in sorted(bindings.items()):
        port, _, proto = str(key).partition("/")
        if not isinstance(hosts, list | None):
            raise BadField(f"NetworkSettings.Ports.{key}", "is not a list of bindings")
        for host in hosts or []:
            host_port = get(host, "HostPort", str, "")
            out.append(
                {
                    "container_port": _number(port),
                    "protocol": proto or "tcp",
                    "host_ip": get(host, "HostIp", str, ""),
                    "host_port": _number(host_port),
                }
            )
    return out


def _number(text: str) -> int:
    """A port number, or 0 for text that is none ("²" is a digit, but no number)."""
    return int(text) if text.isascii() and text.isdigit() else 0


def runtime(layer: LayerBuilder, raw: Raw, origin: str, _d: EngineDefaults) -> None:
    hc = "HostConfig"
    layer.set("network.mode", get(raw, f"{hc}.NetworkMode", str, ""), f"{origin}: {hc}.NetworkMode")
    layer.set("network.ports", _ports(raw), f"{origin}: NetworkSettings.Ports / PortBindings")
    policy = get(raw, f"{hc}.RestartPolicy.Name", str, "") or "no"
    layer.set("restart.policy", policy, f"{origin}: {hc}.RestartPolicy.Name")
    retries = get(raw, f"{hc}.RestartPolicy.MaximumRetryCount", int, 0)
    layer.set("restart.max_retries", retries, f"{origin}: {hc}.RestartPolicy.MaximumRetryCount")
    test = get(raw, "Config.Healthcheck.Test", list, [])
    configured = bool(test) and str(test[0]).upper() != "NONE"
    layer.set("healthcheck.configured", configured, f"{origin}: Config.Healthcheck")
    layer.set("probe_hosts", [], f"{origin}: Config.Healthcheck (a command, no host)")
    sysctls = get(raw, f"{hc}.Sysctls", dict, {})
    layer.set("sysctls", {str(k): str(v) for k, v in sysctls.items()}, f"{origin}: {hc}.Sysctls")


def pod_only(layer: LayerBuilder, _raw: Raw, origin: str, _d: EngineDefaults) -> None:
    """Facts only a Kubernetes pod spec holds: the Pod Security rules that need them are
    skipped for an engine's container, not left unknown."""
    for fact in ("volume_types", "user.run_as_non_root"):
        layer.unavailable(fact, "a Kubernetes pod field: an engine's container has none")
    layer.set("windows.host_process", False, f"{origin}: an engine runs no HostProcess container")


# Groups of declared facts set by one step (the CRI's declared layer and the Kubernetes
# source set the same groups).
SECURITY_FACTS = (
    "seccomp.profile",
    "seccomp.mode",
    "seccomp.allows_all",
    "seccomp.requested",
    "seccomp.annotated",
    "no_new_privs",
    "apparmor.profile",
    "apparmor.requested",
    "selinux.label",
    "selinux.user",
    "selinux.role",
    "selinux.type",
    "selinux.requested",
    "proc_mount",
    "lsm.apparmor_enabled",
    "lsm.selinux_enabled",
)
NAMESPACE_FACTS = (
    "namespaces.pid",
    "namespaces.net",
    "namespaces.ipc",
    "namespaces.uts",
    "namespaces.mnt",
    "namespaces.user",
    "namespaces.cgroup",
    "userns.mode",
    "userns.requested",
)
RESOURCE_FACTS = (
    "resources.memory",
    "resources.cpu_millis",
    "resources.cpu_shares",
    "resources.pids",
    "resources.cgroup_parent",
    "resources.ulimits",
)
CAPABILITY_FACTS = (
    "privileged",
    "caps.added",
    "caps.dropped",
    "caps.added_as_written",
    "caps.dropped_as_written",
    "caps.bounding",
    "caps.effective",
)
STEPS: tuple[tuple[tuple[str, ...], Step], ...] = (
    (("id", "name", "image", "labels", "runtime", "os"), identity),
    (("user.name", "user.uid", "user.requested_uids"), user),
    (CAPABILITY_FACTS, capabilities),
    (SECURITY_FACTS, security),
    (NAMESPACE_FACTS, namespaces),
    (RESOURCE_FACTS, resources),
    (("rootfs.read_only", "mounts", "masked_paths", "readonly_paths"), filesystem),
    (("devices.passed", "devices.all_allowed"), devices),
    (
        (
            "network.mode",
            "network.ports",
            "restart.policy",
            "restart.max_retries",
            "healthcheck.configured",
            "probe_hosts",
            "sysctls",
        ),
        runtime,
    ),
    (("volume_types", "user.run_as_non_root", "windows.host_process"), pod_only),
)


def collect(raw: Raw, origin: str, defaults: EngineDefaults) -> LayerBuilder:
    """The declared facts of one inspect object; ``origin`` is e.g. ``engine`` or a file."""
    layer = LayerBuilder(Layer.DECLARED)
    for paths, step in STEPS:
        try:
            step(layer, raw, origin, defaults)
        except BadField as exc:
            layer.fail_all(paths, f"{origin}: {exc}")
    return layer
