"""The host target: dockerd's arguments and daemon.json (declared) and its /info (effective).

The arguments come from /proc/<dockerd>/cmdline, so they are only read when the engine
is local. A flag wins over daemon.json (dockerd refuses to start when both set one).
"""

from __future__ import annotations

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


def _declared(proc: ProcFS, layer: LayerBuilder) -> bool:
    pid = find_dockerd(proc)
    if pid is None:
        for path in DECLARED_PATHS:
            layer.unavailable(path, "no dockerd process runs on this host")
        return False
    try:
        argv = proc.read(pid, "cmdline").split("\x00")
    except ProcUnreadable as exc:
        layer.fail_all(DECLARED_PATHS, exc.reason)
        return True
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
        return True
    except HardenError as exc:
        where = exc.message.removeprefix(f"{config_path}:")
        layer.fail_all(DECLARED_PATHS, f"{config_path}: cannot be read:{where}")
        return True
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
    return True


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
    *,
    local: bool,
    info_gap: Gap | None = None,
    proc: ProcFS | None = None,
) -> TargetState:
    """The host's engine as a target. ``local``: dockerd runs here (read its arguments).

    ``info`` is the engine's /info; when it is None, ``info_gap`` says why.
    """
    declared = LayerBuilder(Layer.DECLARED)
    effective = LayerBuilder(Layer.EFFECTIVE)
    running = False
    if local:
        running = _declared(proc or ProcFS(), declared)
    else:
        for path in DECLARED_PATHS:
            declared.unavailable(path, "the engine is remote: its arguments are not readable here")
    _effective(info, effective, info_gap or Gap(GapKind.FAILED, "the engine API did not answer"))
    if local:  # a local engine without a dockerd process is Podman (or hidden): no daemon rules
        effective.set("daemon.running", running, "a dockerd process on this host")
    else:
        effective.set("daemon.running", info is not None, "the remote engine API answered")
    name = str((info or {}).get("Name") or socket.gethostname())
    return build_state(TargetKind.HOST, name, name, source, declared, effective)
