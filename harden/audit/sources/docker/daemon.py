"""The host target: dockerd's arguments and daemon.json (declared) and its /info (effective).

The daemon rules judge the engine that is audited, whatever DOCKER_HOST names. The
arguments come from /proc/<dockerd>/cmdline, so they are read only when the engine is a
dockerd on this host: the process serving the engine's unix socket (SO_PEERCRED), or a
dockerd that listens on that socket. A remote engine, a socket no local dockerd serves,
an engine that cannot be used and Podman (no dockerd arguments; its Docker-compatible
API reports ExperimentalBuild always) each say why the arguments are not read; for
Podman the daemon rules do not apply. A flag wins over daemon.json (dockerd refuses to
start when both set one).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harden.audit.state.facts import FACTS
from harden.audit.state.model import (
    Gap,
    GapKind,
    Layer,
    LayerBuilder,
    SourceKind,
    TargetKind,
    TargetState,
    build_state,
)
from harden.errors import HardenError
from harden.system.engine import DEFAULT_SOCKET
from harden.system.proc import ProcFS, ProcUnreadable
from harden.system.yaml import parse_json

DECLARED_PATHS = tuple(p for p, f in FACTS[TargetKind.HOST].items() if Layer.DECLARED in f.layers)
DEFAULT_CONFIG = Path("/etc/docker/daemon.json")


@dataclass(frozen=True)
class Setting:
    """One daemon setting: its flag, its daemon.json key, how to read it, its default."""

    fact: str
    flag: str
    key: str
    parse: Callable[[Any], Any]
    default: Any


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "")


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _str(value: Any) -> str:
    return str(value)


def _ulimits(value: Any) -> dict[str, str]:
    """daemon.json ``{"nofile": {"Soft": 1, "Hard": 2}}`` or flags ``["nofile=1:2"]``."""
    if isinstance(value, dict):
        return {
            str(k): f"{v.get('Soft', '')}:{v.get('Hard', '')}" if isinstance(v, dict) else str(v)
            for k, v in value.items()
        }
    out = {}
    for item in _list(value):
        name, _, limits = item.partition("=")
        out[name] = limits
    return out


SETTINGS = (
    Setting("daemon.userns_remap", "--userns-remap", "userns-remap", _str, ""),
    Setting("daemon.icc", "--icc", "icc", _bool, True),
    Setting("daemon.log_level", "--log-level", "log-level", _str, "info"),
    Setting("daemon.iptables", "--iptables", "iptables", _bool, True),
    Setting("daemon.insecure_registries", "--insecure-registry", "insecure-registries", _list, []),
    Setting("daemon.storage_driver", "--storage-driver", "storage-driver", _str, ""),
    Setting("daemon.storage_opts", "--storage-opt", "storage-opts", _list, []),
    Setting("daemon.hosts", "--host", "hosts", _list, []),
    Setting("daemon.tls", "--tls", "tls", _bool, False),
    Setting("daemon.tls_verify", "--tlsverify", "tlsverify", _bool, False),
    Setting("daemon.cgroup_parent", "--cgroup-parent", "cgroup-parent", _str, ""),
    Setting("daemon.default_ulimits", "--default-ulimit", "default-ulimits", _ulimits, {}),
    Setting(
        "daemon.authorization_plugins", "--authorization-plugin", "authorization-plugins", _list, []
    ),
    Setting("daemon.log_driver", "--log-driver", "log-driver", _str, "json-file"),
    Setting("daemon.no_new_privileges", "--no-new-privileges", "no-new-privileges", _bool, False),
    Setting("daemon.live_restore", "--live-restore", "live-restore", _bool, False),
    Setting("daemon.userland_proxy", "--userland-proxy", "userland-proxy", _bool, True),
    Setting("daemon.seccomp_profile", "--seccomp-profile", "seccomp-profile", _str, "default"),
    Setting("daemon.experimental", "--experimental", "experimental", _bool, False),
)
_SHORT = {
    "-H": "--host",
    "-l": "--log-level",
    "-s": "--storage-driver",
    "-b": "--bridge",
    "-G": "--group",
    "-D": "--debug",
    "-p": "--pidfile",
}
_BOOL_FLAGS = frozenset(
    {
        "--icc",
        "--iptables",
        "--tls",
        "--tlsverify",
        "--no-new-privileges",
        "--live-restore",
        "--userland-proxy",
        "--experimental",
        "--debug",
        "--selinux-enabled",
        "--ip-masq",
        "--ipv6",
        "--rootless",
    }
)


def parse_args(argv: list[str]) -> dict[str, list[str]]:
    """dockerd's flags as ``{"--host": ["unix://...", "tcp://..."], "--icc": ["false"]}``."""
    out: dict[str, list[str]] = {}
    i = 1
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-"):
            continue
        name, eq, value = arg.partition("=")
        name = _SHORT.get(name, name)
        if not eq and name not in _BOOL_FLAGS and i < len(argv):
            value, i = argv[i], i + 1
        elif not eq:
            value = "true"
        out.setdefault(name, []).append(value)
    return out


def find_dockerd(proc: ProcFS) -> int | None:
    for pidfile in (Path("/run/docker.pid"), Path("/var/run/docker.pid")):
        try:
            pid = int(pidfile.read_text().strip())
            if proc.read(pid, "comm").strip() == "dockerd":
                return pid
        except (OSError, ValueError, ProcUnreadable):
            continue
    for pid in proc.pids():
        try:
            if proc.read(pid, "comm").strip() == "dockerd":
                return pid
        except ProcUnreadable:
            continue
    return None


@dataclass(frozen=True)
class Audited:
    """Which daemon the host target describes (see the module's docstring)."""

    dockerd: int | None  # the dockerd whose arguments and daemon.json are read
    running: bool | None  # the audited engine is a Docker daemon (None: unknown)
    why: str  # the reason, when no dockerd's arguments are read
    podman: bool = False


def local_daemon(proc: ProcFS) -> Audited:
    """``--source proc``: whatever dockerd runs on this host."""
    pid = find_dockerd(proc)
    return Audited(pid, pid is not None, "no dockerd process runs on this host")


def engine_daemon(endpoint: str, peer: int | None, info: dict[str, Any], proc: ProcFS) -> Audited:
    """The daemon behind the engine API at ``endpoint`` that answered ``info``."""
    if "BuildahVersion" in info:  # only Podman's compatible API has it
        return Audited(None, False, f"{endpoint} is Podman: no dockerd arguments", podman=True)
    if not endpoint.startswith("unix://"):
        return Audited(None, True, "the engine is remote: its arguments are not readable here")
    socket_path = endpoint.removeprefix("unix://")
    if peer is not None and _comm(proc, peer) == "dockerd":
        return Audited(peer, True, "")
    pid = find_dockerd(proc)
    if pid is not None and _listens_on(proc, pid, socket_path):
        return Audited(pid, True, "")
    return Audited(None, True, f"no dockerd on this host serves {endpoint}")


def unusable_daemon(endpoint: str, problem: str) -> Audited:
    """The engine could not be used: nothing is known of the daemon behind it."""
    return Audited(None, None, f"the engine {endpoint or 'named'} cannot be used: {problem}")


def _comm(proc: ProcFS, pid: int) -> str:
    try:
        return proc.read(pid, "comm").strip()
    except ProcUnreadable:
        return ""


def _listens_on(proc: ProcFS, pid: int, socket_path: str) -> bool:
    """Whether dockerd ``pid`` listens on ``socket_path`` (its -H flags, else the default
    socket; fd:// is the systemd socket, the default one)."""
    try:
        argv = proc.read(pid, "cmdline").split("\x00")
    except ProcUnreadable:
        return False
    hosts = parse_args([a for a in argv if a]).get("--host") or ["unix://" + DEFAULT_SOCKET]
    paths = {
        DEFAULT_SOCKET if h.startswith("fd://") else h.removeprefix("unix://")
        for h in hosts
        if h.startswith(("unix://", "fd://"))
    }
    return os.path.realpath(socket_path) in {os.path.realpath(p) for p in paths}


def _declared(proc: ProcFS, layer: LayerBuilder, pid: int) -> None:
    try:
        argv = proc.read(pid, "cmdline").split("\x00")
    except ProcUnreadable as exc:
        layer.fail_all(DECLARED_PATHS, exc.reason)
        return
    flags = parse_args([a for a in argv if a])
    config_path = Path(flags.get("--config-file", [str(DEFAULT_CONFIG)])[-1])
    config: dict[str, Any] = {}
    try:
        loaded = parse_json(config_path.read_text(), str(config_path))
        if not isinstance(loaded, dict):
            raise ValueError("not a JSON object")
        config = loaded
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        layer.fail_all(DECLARED_PATHS, f"{config_path}: cannot be read: {exc}")
        return
    except HardenError as exc:
        where = exc.message.removeprefix(f"{config_path}:")
        layer.fail_all(DECLARED_PATHS, f"{config_path}: cannot be read:{where}")
        return
    for s in SETTINGS:
        if s.flag in flags:
            values = flags[s.flag]
            value = s.parse(values if s.parse in (_list, _ulimits) else values[-1])
            layer.set(s.fact, value, f"dockerd {s.flag} (/proc/{pid}/cmdline)")
        elif s.key in config:
            layer.set(s.fact, s.parse(config[s.key]), f"{config_path}: {s.key}")
        else:
            layer.set(s.fact, s.default, f"dockerd default (not set in arguments or {config_path})")
    bridge = flags.get("--bridge", [str(config.get("bridge", ""))])[-1]
    layer.set("daemon.default_bridge", bridge != "none", "dockerd --bridge / daemon.json bridge")


def _object(value: Any) -> dict[str, Any]:
    """An object of the engine's answer, or {} for anything else (the engine is untrusted)."""
    return value if isinstance(value, dict) else {}


def _list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def security_options(info: dict[str, Any]) -> list[str]:
    """/info's SecurityOptions (``name=seccomp,profile=default``, ...)."""
    return [str(o) for o in _list_of(info.get("SecurityOptions"))]


def _effective(info: dict[str, Any] | None, layer: LayerBuilder, info_gap: Gap) -> None:
    if info is None:
        for path, spec in FACTS[TargetKind.HOST].items():
            if Layer.EFFECTIVE in spec.layers and path != "daemon.running":
                layer.gaps[f"{layer.layer}.{path}"] = info_gap
        return
    options = security_options(info)
    names = {o.split(",")[0].removeprefix("name=") for o in options}
    layer.set("daemon.version", str(info.get("ServerVersion", "")), "engine /info: ServerVersion")
    layer.set("daemon.rootless", "rootless" in names, "engine /info: SecurityOptions")
    layer.set(
        "daemon.userns_remap",
        "enabled" if "userns" in names else "",
        "engine /info: SecurityOptions",
    )
    profile = next(
        (
            o.split("profile=", 1)[1]
            for o in options
            if o.startswith("name=seccomp,") and "profile=" in o
        ),
        "default",
    )
    layer.set("daemon.seccomp_profile", profile, "engine /info: SecurityOptions")
    layer.set("daemon.live_restore", bool(info.get("LiveRestoreEnabled")), "engine /info")
    plugins = _list_of(_object(info.get("Plugins")).get("Authorization"))
    layer.set("daemon.authorization_plugins", [str(p) for p in plugins], "engine /info: Plugins")
    layer.set("daemon.storage_driver", str(info.get("Driver", "")), "engine /info: Driver")
    layer.set("daemon.log_driver", str(info.get("LoggingDriver", "")), "engine /info")
    layer.set("daemon.experimental", bool(info.get("ExperimentalBuild")), "engine /info")
    registry = _object(info.get("RegistryConfig"))
    cidrs = _list_of(registry.get("InsecureRegistryCIDRs"))
    insecure = [str(c) for c in cidrs if c != "127.0.0.0/8"]
    insecure += [
        str(n)
        for n, c in _object(registry.get("IndexConfigs")).items()
        if isinstance(c, dict) and c.get("Secure") is False
    ]
    layer.set("daemon.insecure_registries", sorted(set(insecure)), "engine /info: RegistryConfig")


def host_target(
    source: SourceKind,
    info: dict[str, Any] | None,
    audited: Audited,
    *,
    info_gap: Gap | None = None,
    proc: ProcFS | None = None,
) -> TargetState:
    """The audited engine's daemon as a target (``audited``: which daemon that is).

    ``info`` is the engine's /info; when it is None, ``info_gap`` says why.
    """
    declared = LayerBuilder(Layer.DECLARED)
    effective = LayerBuilder(Layer.EFFECTIVE)
    if audited.dockerd is not None:
        _declared(proc or ProcFS(), declared, audited.dockerd)
    else:
        for path in DECLARED_PATHS:
            declared.unavailable(path, audited.why)
    _effective(info, effective, info_gap or Gap(GapKind.FAILED, "the engine API did not answer"))
    if audited.podman:  # not a setting: Podman's compatible API always says so
        effective.facts.pop("daemon.experimental", None)
        effective.unavailable("daemon.experimental", "Podman always reports ExperimentalBuild")
    if audited.running is None:
        effective.fail("daemon.running", audited.why)
    else:
        effective.set("daemon.running", audited.running, _RUNNING_ORIGIN[audited.running])
    name = str((info or {}).get("Name") or socket.gethostname())
    return build_state(TargetKind.HOST, name, name, source, declared, effective)


_RUNNING_ORIGIN = {
    True: "the engine audited is a Docker daemon",
    False: "no Docker daemon is audited (none runs here, or the engine is Podman)",
}
