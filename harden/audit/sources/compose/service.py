"""One compose service in the shape of ``docker inspect`` (what the engine would create)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harden.audit.sources.docker.fields import BadField
from harden.audit.sources.located import (
    DEFAULT_MASKED_PATHS,
    DEFAULT_READONLY_PATHS,
    Reader,
    compose_bytes,
    quantity,
)

SeccompReader = Callable[[Reader, str], tuple[str, str]]
_LIMITS = ("deploy", "resources", "limits")


def _mapping(reader: Reader, key: str) -> dict[str, str]:
    """A compose ``KEY=VALUE`` list or a map, as a map of strings."""
    value = reader.get((key,), (dict, list), {})
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    out = {}
    for item in value:
        name, _, text = str(item).partition("=")
        out[name] = text
    return out


def _strings(reader: Reader, key: str) -> list[str]:
    value = reader.get((key,), list, [])
    return [str(v) for v in value]


def _namespace(reader: Reader, key: str, names: dict[str, str]) -> str:
    value: str = reader.get((key,), str, "")
    if value.startswith("service:"):
        service = value.removeprefix("service:")
        if service not in names:
            raise BadField(reader.dotted(key), f"names no service {service!r} of this file")
        return f"container:{names[service]}"
    return value


def _security(reader: Reader, seccomp: SeccompReader) -> tuple[list[str], str]:
    opts, problem = [], ""
    for opt in _strings(reader, "security_opt"):
        key, sep, value = opt.partition("=")
        if not sep:
            key, sep, value = opt.partition(":")
        if key == "seccomp" and value not in ("unconfined", "", "builtin", "default"):
            text, problem = seccomp(reader, value)
            opts.append(f"seccomp={text}" if text else "seccomp=builtin")
            continue
        opts.append(f"{key}={value}" if sep else key)
    return opts, problem


def _cpus(reader: Reader) -> tuple[int, int, int]:
    """(NanoCpus, CpuQuota, CpuPeriod)."""
    for path in (("cpus",), (*_LIMITS, "cpus")):
        if reader.has(*path):
            return int(quantity(reader.raw(*path), reader.dotted(*path)) * 1e9), 0, 0
    quota = reader.get(("cpu_quota",), int, 0)
    period = reader.get(("cpu_period",), int, 0)
    return 0, quota, period


def _memory(reader: Reader) -> int:
    for path in (("mem_limit",), (*_LIMITS, "memory")):
        if reader.has(*path):
            return compose_bytes(reader.raw(*path), reader.dotted(*path))
    return 0


def _ports(reader: Reader) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for index, item in enumerate(reader.get(("ports",), list, [])):
        where = reader.dotted("ports", index)
        if isinstance(item, dict):
            target, published = item.get("target"), item.get("published", "")
            host_ip, proto = str(item.get("host_ip", "")), str(item.get("protocol", "tcp"))
        elif isinstance(item, str | int) and not isinstance(item, bool):
            text, _, proto = str(item).partition("/")
            parts = text.rsplit(":", 2)
            target = parts[-1]
            published = parts[-2] if len(parts) >= 2 else ""
            host_ip = parts[0].strip("[]") if len(parts) == 3 else ""
        else:
            raise BadField(where, f"is not a port: {item!r}")
        target_text, published_text = str(target).split("-")[0], str(published).split("-")[0]
        if not _digits(target_text) or (published_text and not _digits(published_text)):
            raise BadField(where, f"is not a port mapping: {item!r}")
        key = f"{target_text}/{proto or 'tcp'}"
        out.setdefault(key, []).append({"HostIp": host_ip, "HostPort": published_text})
    return out


def _volumes(reader: Reader) -> list[dict[str, Any]]:
    out = []
    for index, item in enumerate(reader.get(("volumes",), list, [])):
        if isinstance(item, dict):
            kind = str(item.get("type", "volume"))
            source, target = str(item.get("source", "")), str(item.get("target", ""))
            rw = item.get("read_only") is not True
            bind = item.get("bind")
            propagation = str(bind.get("propagation", "")) if isinstance(bind, dict) else ""
        elif isinstance(item, str):
            parts = item.split(":")
            if len(parts) == 1:
                continue  # an anonymous volume
            source, target = parts[0], parts[1]
            mode = parts[2].split(",") if len(parts) > 2 else []
            rw = "ro" not in mode
            propagation = next(
                (m for m in mode if m.lstrip("r") in ("shared", "slave", "private")), ""
            )
            kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
        else:
            raise BadField(reader.dotted("volumes", index), f"is not a volume: {item!r}")
        if kind in ("bind", "volume"):
            if kind == "bind":
                source = _host_path(source, Path(reader.doc.source).resolve().parent)
            out.append(
                {
                    "Type": kind,
                    "Source": source,
                    "Destination": posixpath.normpath(target) if target else target,
                    "RW": rw,
                    "Propagation": propagation,
                }
            )
    return out


def _host_path(source: str, project: Path) -> str:
    """A bind source as the host path it names: relative to the compose file's folder,
    normalised (``/var/../etc`` is ``/etc``); ``~`` stays, as the deploying user's home."""
    if source.startswith("~"):
        return posixpath.normpath(source)
    if not source.startswith("/"):
        source = posixpath.join(project.as_posix(), source)
    return posixpath.normpath(source)


def _devices(reader: Reader) -> list[dict[str, str]]:
    out = []
    for item in reader.get(("devices",), list, []):
        if isinstance(item, dict):
            host, inside = str(item.get("source", "")), str(item.get("target", ""))
            perms = str(item.get("permissions", "rwm"))
        else:
            parts = str(item).split(":")
            host = parts[0]
            inside = parts[1] if len(parts) > 1 else host
            perms = parts[2] if len(parts) > 2 else "rwm"
        out.append({"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": perms})
    return out


def _digits(text: str) -> bool:
    """Decimal ASCII digits only: "²" and "٣" are digits to str.isdigit, not to an engine."""
    return text.isascii() and text.isdigit()


def _restart(reader: Reader) -> dict[str, Any]:
    policy = reader.get(("restart",), str, "")
    if policy:
        name, _, count = policy.partition(":")
        return {"Name": name, "MaximumRetryCount": int(count) if _digits(count) else 0}
    deploy = ("deploy", "restart_policy")
    if reader.has(*deploy):
        condition = reader.get((*deploy, "condition"), str, "any")
        name = {"any": "always", "none": "no"}.get(condition, condition)
        return {"Name": name, "MaximumRetryCount": reader.get((*deploy, "max_attempts"), int, 0)}
    return {"Name": "no", "MaximumRetryCount": 0}


def _healthcheck(reader: Reader) -> dict[str, Any]:
    if reader.get(("healthcheck", "disable"), bool, False):
        return {"Test": ["NONE"]}
    test = reader.get(("healthcheck", "test"), (list, str), [])
    return {"Test": [str(t) for t in test] if isinstance(test, list) else ["CMD-SHELL", test]}


def _ulimits(reader: Reader) -> list[dict[str, Any]]:
    out = []
    for name, value in sorted(reader.get(("ulimits",), dict, {}).items()):
        if isinstance(value, dict):
            out.append(
                {"Name": str(name), "Soft": value.get("soft", 0), "Hard": value.get("hard", 0)}
            )
        else:
            out.append({"Name": str(name), "Soft": value, "Hard": value})
    return out


def inspect_object(
    reader: Reader, svc: str, names: dict[str, str], seccomp: SeccompReader
) -> tuple[dict[str, Any], str]:
    """The inspect-shaped object of service ``svc``, and a problem with its seccomp file."""
    security, problem = _security(reader, seccomp)
    privileged = reader.get(("privileged",), bool, False)
    unmasked = privileged or "systempaths=unconfined" in security
    nano, quota, period = _cpus(reader)
    pids = reader.get(("pids_limit",), int, 0) or reader.get((*_LIMITS, "pids"), int, 0)
    host_config = {
        "Privileged": privileged,
        "CapAdd": _strings(reader, "cap_add"),
        "CapDrop": _strings(reader, "cap_drop"),
        "SecurityOpt": security,
        "PidMode": _namespace(reader, "pid", names),
        "IpcMode": _namespace(reader, "ipc", names),
        "NetworkMode": _namespace(reader, "network_mode", names),
        "UTSMode": reader.get(("uts",), str, ""),
        "UsernsMode": reader.get(("userns_mode",), str, ""),
        "CgroupnsMode": reader.get(("cgroup",), str, ""),
        "Memory": _memory(reader),
        "NanoCpus": nano,
        "CpuQuota": quota,
        "CpuPeriod": period,
        "CpuShares": reader.get(("cpu_shares",), int, 0),
        "PidsLimit": pids,
        "CgroupParent": reader.get(("cgroup_parent",), str, ""),
        "Ulimits": _ulimits(reader),
        "ReadonlyRootfs": reader.get(("read_only",), bool, False),
        "Devices": _devices(reader),
        "DeviceCgroupRules": _strings(reader, "device_cgroup_rules"),
        "PortBindings": _ports(reader),
        "RestartPolicy": _restart(reader),
        "Sysctls": _mapping(reader, "sysctls"),
        "MaskedPaths": [] if unmasked else list(DEFAULT_MASKED_PATHS),
        "ReadonlyPaths": [] if unmasked else list(DEFAULT_READONLY_PATHS),
    }
    config = {
        "Image": reader.get(("image",), str, ""),
        "User": str(reader.get(("user",), (str, int), "")),
        "Labels": _mapping(reader, "labels"),
        "Healthcheck": _healthcheck(reader),
    }
    raw = {
        "Id": names[svc],
        "Name": "/" + names[svc],
        "Config": config,
        "HostConfig": host_config,
        "Mounts": _volumes(reader),
    }
    return raw, problem
