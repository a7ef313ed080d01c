"""The catalogue of facts rules may use: path, type, which layers provide it, meaning.

This is the schema of the CEL variables ``container``/``host`` (merged view),
``declared`` and ``effective``. Rule conditions are checked against it when packs load,
so a misspelt fact is a located error, never a silent pass. ``audit/README.md`` lists
the same table (a test keeps them equal).
"""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harden.audit.state.model import Layer, TargetKind


class Kind(enum.StrEnum):
    BOOL = "bool"
    INT = "int"
    STRING = "string"
    LIST = "list"
    MAP = "map"


@dataclass(frozen=True)
class FactSpec:
    path: str
    kind: Kind
    layers: frozenset[Layer]
    doc: str


_D = frozenset({Layer.DECLARED})
_E = frozenset({Layer.EFFECTIVE})
_DE = frozenset({Layer.DECLARED, Layer.EFFECTIVE})
B, N, S, L, M = Kind.BOOL, Kind.INT, Kind.STRING, Kind.LIST, Kind.MAP

_CONTAINER: tuple[FactSpec, ...] = (
    FactSpec("id", S, _DE, "container ID (engine, or the ID in the cgroup path)"),
    FactSpec("name", S, _DE, "container name as the engine shows it (no leading /)"),
    FactSpec("image", S, _D, "image reference the container was created from"),
    FactSpec("labels", M, _D, "container labels"),
    FactSpec("annotations", M, _D, "Kubernetes: the pod's annotations (workload and template)"),
    FactSpec("runtime", S, _DE, "docker, podman, containerd, crio, lxc or unknown"),
    FactSpec("user.name", S, _D, "configured user (Config.User), '' means the image default"),
    FactSpec("user.uid", N, _DE, "uid of the main process inside the container's user namespace"),
    FactSpec("user.host_uid", N, _E, "uid of the main process as the host sees it"),
    FactSpec(
        "user.run_as_non_root",
        B,
        _D,
        "Kubernetes: runAsNonRoot is true (the container's, else the pod's) and the pod does "
        "not set it false",
    ),
    FactSpec(
        "user.requested_uids",
        L,
        _D,
        "the uids the configuration asks for, pod level first (Kubernetes: runAsUser of the pod "
        "and of the container; engines: the configured user's uid, when it names one)",
    ),
    FactSpec("privileged", B, _D, "started with --privileged"),
    FactSpec("caps.added", L, _D, "capabilities in CapAdd (names without CAP_, ALL kept)"),
    FactSpec("caps.dropped", L, _D, "capabilities in CapDrop (names without CAP_, ALL kept)"),
    FactSpec(
        "caps.added_as_written",
        L,
        _D,
        "capabilities to add exactly as written (Kubernetes: `chown` and `CAP_CHOWN` are not "
        "`CHOWN`); engines: as the engine normalised them, without CAP_",
    ),
    FactSpec(
        "caps.dropped_as_written",
        L,
        _D,
        "capabilities to drop exactly as written (Kubernetes: `all` is not `ALL`); engines: as "
        "the engine normalised them, without CAP_",
    ),
    FactSpec("caps.bounding", L, _DE, "bounding set: CapBnd, or engine defaults + added - dropped"),
    FactSpec("caps.effective", L, _DE, "effective set of the main process (CapEff)"),
    FactSpec("caps.permitted", L, _E, "permitted set of the main process (CapPrm)"),
    FactSpec("caps.ambient", L, _E, "ambient set of the main process (CapAmb)"),
    FactSpec("seccomp.mode", S, _DE, "disabled, strict or filter (/proc Seccomp: 0, 1, 2)"),
    FactSpec("seccomp.filters", N, _E, "number of seccomp filters attached (Seccomp_filters)"),
    FactSpec(
        "seccomp.profile",
        S,
        _D,
        "default, unconfined, custom, or unset (Kubernetes: no seccompProfile at all)",
    ),
    FactSpec("seccomp.allows_all", B, _D, "the declared profile filters no syscall at all"),
    FactSpec(
        "seccomp.requested",
        L,
        _D,
        "the seccomp profiles the configuration sets, pod level first: default, custom or "
        "unconfined (Kubernetes: seccompProfile.type of the pod and of the container; engines: "
        "the seccomp security option, default when none)",
    ),
    FactSpec(
        "seccomp.annotated",
        L,
        _D,
        "Kubernetes: the profiles the pod's alpha seccomp annotations set for the container, "
        "the pod's first, in the same words (engines: none)",
    ),
    FactSpec("no_new_privs", B, _DE, "no_new_privs is set (--security-opt no-new-privileges)"),
    FactSpec(
        "apparmor.profile",
        S,
        _D,
        "AppArmor profile name ('' or unconfined: none; Kubernetes RuntimeDefault: runtime/default)",  # noqa: E501
    ),
    FactSpec(
        "apparmor.requested",
        L,
        _D,
        "the AppArmor profiles the configuration sets, pod level first: runtime/default, "
        "localhost/<name> or unconfined (Kubernetes: appArmorProfile of the pod and of the "
        "container, then the container's annotation; engines: the apparmor security option)",
    ),
    FactSpec("selinux.label", S, _D, "SELinux process label ('disabled' for label=disable)"),
    FactSpec("selinux.user", S, _D, "user part of the SELinux label ('' when not set)"),
    FactSpec("selinux.role", S, _D, "role part of the SELinux label ('' when not set)"),
    FactSpec("selinux.type", S, _D, "type part of the SELinux label ('' when not set)"),
    FactSpec(
        "selinux.requested",
        L,
        _D,
        "the SELinux options the configuration sets, pod level first: {user, role, type} "
        "(Kubernetes: seLinuxOptions of the pod and of the container, each as written; engines: "
        "the label options, when any)",
    ),
    FactSpec("lsm.label", S, _E, "/proc/PID/attr/current of the main process"),
    FactSpec("lsm.apparmor_enabled", B, _DE, "the host enforces AppArmor"),
    FactSpec("lsm.selinux_enabled", B, _DE, "the host enforces SELinux"),
    FactSpec("namespaces.pid", S, _DE, "host, private or container:<name> (followed transitively)"),
    FactSpec("namespaces.net", S, _DE, "host, private or container:<name> (none is private)"),
    FactSpec("namespaces.ipc", S, _DE, "host, private or container:<name>"),
    FactSpec("namespaces.uts", S, _DE, "host or private"),
    FactSpec("namespaces.user", S, _DE, "host or private (user namespace remapping)"),
    FactSpec("namespaces.cgroup", S, _DE, "host or private"),
    FactSpec("namespaces.mnt", S, _DE, "host or private"),
    FactSpec("userns.mode", S, _D, "UsernsMode as configured ('' or host)"),
    FactSpec(
        "userns.requested",
        B,
        _D,
        "the configuration asks for a user namespace of its own (Kubernetes: hostUsers: false; "
        "engines: a UsernsMode such as podman's auto, keep-id or private; a daemon-wide remap is "
        "no request)",
    ),
    FactSpec("userns.uid_map", L, _E, "uid_map lines: {inside, outside, count}"),
    FactSpec("userns.gid_map", L, _E, "gid_map lines: {inside, outside, count}"),
    FactSpec("resources.memory", N, _DE, "memory limit in bytes, 0 = unlimited"),
    FactSpec("resources.cpu_millis", N, _DE, "CPU quota in thousandths of a CPU, 0 = unlimited"),
    FactSpec("resources.cpu_shares", N, _DE, "CPU shares (relative weight), 0 = default"),
    FactSpec("resources.pids", N, _DE, "pids limit, 0 = unlimited"),
    FactSpec("resources.cgroup_parent", S, _D, "cgroup parent, '' = engine default"),
    FactSpec("resources.ulimits", L, _D, "ulimit overrides: {name, soft, hard}"),
    FactSpec("rootfs.read_only", B, _DE, "the root filesystem is mounted read-only"),
    FactSpec(
        "mounts",
        L,
        _DE,
        "host paths mounted in: {source, destination, type, rw, propagation}, broadest host "
        "path first (paths normalised); propagation is private, slave or shared. Effective "
        "mounts also have within: the destination of the mount a recursive bind brought "
        "them with ('' for a mount of its own); the ones that add nothing to it are left out",
    ),
    FactSpec("masked_paths", L, _DE, "kernel paths hidden from the container (/proc/kcore, ...)"),
    FactSpec(
        "proc_mount",
        S,
        _D,
        "the /proc mount type the configuration asks for: Default, Unmasked or '' when not set "
        "(Kubernetes: the container's procMount; engines: Unmasked for systempaths=unconfined)",
    ),
    FactSpec("readonly_paths", L, _DE, "kernel paths made read-only (/proc/sys, ...)"),
    FactSpec(
        "devices.passed", L, _DE, "host devices given: {host_path, container_path, permissions}"
    ),
    FactSpec("devices.all_allowed", B, _DE, "the device cgroup allows every device"),
    FactSpec("network.mode", S, _D, "NetworkMode: default, bridge, none, host, container:<x>, ..."),
    FactSpec(
        "network.ports", L, _D, "published ports: {container_port, protocol, host_ip, host_port}"
    ),
    FactSpec("restart.policy", S, _D, "restart policy: no, always, unless-stopped, on-failure"),
    FactSpec("restart.max_retries", N, _D, "on-failure maximum retry count (0 = unlimited)"),
    FactSpec("healthcheck.configured", B, _D, "a health check is configured and not NONE"),
    FactSpec(
        "probe_hosts",
        L,
        _D,
        "Kubernetes: the host fields of the container's httpGet and tcpSocket probes and "
        "lifecycle handlers, where set (engines: none, a health check is a command)",
    ),
    FactSpec("exec_sessions", L, _D, "docker exec sessions: {id, user, privileged, running}"),
    FactSpec("processes", L, _E, "every process in the container: {pid, name, uid, host_uid}"),
    FactSpec("sysctls", M, _D, "namespaced sysctls set for the container"),
    FactSpec(
        "volume_types", L, _D, "Kubernetes: the source kind of every pod volume (hostPath, ...)"
    ),
    FactSpec(
        "windows.host_process",
        B,
        _D,
        "Kubernetes: a Windows HostProcess container (hostProcess: true on the pod or the "
        "container)",
    ),
    FactSpec(
        "os",
        S,
        _D,
        "the operating system the pod is for: linux, windows or '' (Kubernetes: spec.os.name, '' "
        "when not set; engines: the container's platform, linux when not shown)",
    ),
)

_HOST: tuple[FactSpec, ...] = (
    FactSpec("daemon.running", B, _E, "dockerd runs here (or the remote engine answers)"),
    FactSpec("daemon.version", S, _E, "engine version"),
    FactSpec("daemon.rootless", B, _E, "the daemon runs rootless"),
    FactSpec("daemon.userns_remap", S, _DE, "userns-remap setting, '' = off"),
    FactSpec("daemon.default_bridge", B, _D, "the default bridge network exists (not -b none)"),
    FactSpec("daemon.icc", B, _D, "inter-container communication on the default bridge"),
    FactSpec("daemon.log_level", S, _D, "log level (default info)"),
    FactSpec("daemon.iptables", B, _D, "the daemon manages iptables rules"),
    FactSpec("daemon.insecure_registries", L, _DE, "registries reached without TLS verification"),
    FactSpec("daemon.storage_driver", S, _DE, "storage driver"),
    FactSpec("daemon.storage_opts", L, _D, "storage driver options"),
    FactSpec("daemon.hosts", L, _D, "sockets the daemon listens on (unix://, tcp://, fd://)"),
    FactSpec("daemon.tls", B, _D, "TLS is configured for TCP sockets"),
    FactSpec("daemon.tls_verify", B, _D, "clients must present a certificate signed by the CA"),
    FactSpec("daemon.default_ulimits", M, _D, "default ulimits for containers"),
    FactSpec("daemon.cgroup_parent", S, _D, "default cgroup parent, '' = engine default"),
    FactSpec("daemon.authorization_plugins", L, _DE, "authorization plugins"),
    FactSpec("daemon.log_driver", S, _DE, "default logging driver"),
    FactSpec("daemon.no_new_privileges", B, _D, "containers get no-new-privileges by default"),
    FactSpec("daemon.live_restore", B, _DE, "containers keep running while the daemon restarts"),
    FactSpec("daemon.userland_proxy", B, _D, "the userland proxy serves published ports"),
    FactSpec(
        "daemon.seccomp_profile", S, _DE, "default seccomp profile: default, unconfined or a path"
    ),
    FactSpec("daemon.experimental", B, _DE, "experimental features are enabled"),
)

FACTS: Mapping[TargetKind, Mapping[str, FactSpec]] = {
    TargetKind.CONTAINER: {f.path: f for f in _CONTAINER},
    TargetKind.HOST: {f.path: f for f in _HOST},
}

# The CEL variable holding the merged view of each target kind.
VIEW_NAME: Mapping[TargetKind, str] = {
    TargetKind.CONTAINER: "container",
    TargetKind.HOST: "host",
}


def spec_for(kind: TargetKind, path: str) -> FactSpec | None:
    """The fact at ``path`` or the fact that ``path`` descends into (``mounts.exists``)."""
    facts = FACTS[kind]
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = facts.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def groups(kind: TargetKind) -> frozenset[str]:
    """Prefixes that only group facts (``caps``, ``resources``): not facts themselves."""
    out: set[str] = set()
    for path in FACTS[kind]:
        parts = path.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return frozenset(out)


def mounts_in_order(mounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Host mounts with normalised paths, broadest host path first (``/`` before
    ``/etc`` before ``/var/lib/app/cache``): the order every source gives, so that the
    most sensitive evidence is shown first when a report has to cut a list short."""
    for mount in mounts:
        for key in ("source", "destination"):
            value = mount.get(key)
            if isinstance(value, str) and value.startswith("/"):
                mount[key] = posixpath.normpath(value)
    return sorted(mounts, key=_breadth)


def _breadth(mount: dict[str, Any]) -> tuple[int, str, str]:
    source, destination = str(mount.get("source", "")), str(mount.get("destination", ""))
    depth = 0 if source == "/" else source.count("/")
    return depth, source, destination
