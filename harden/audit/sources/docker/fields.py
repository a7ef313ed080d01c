"""Typed access to Docker and Podman inspect objects, and the small parsers they need.

Docker's and Podman's inspect objects are read field by field with type checks: a
field with an unexpected type makes only the facts built from it *failed*, so one odd
container never hides the rest. (Hand-written rather than a pydantic model on purpose:
per-field tolerance is the behaviour wanted here, and it keeps pydantic's ~100 ms import
off the hot path of ``harden audit``.)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from harden.errors import HardenError
from harden.kernel.capabilities import CAPABILITIES, DOCKER_DEFAULT, normalise
from harden.system.yaml import parse_json

_MISSING = object()
ALLOWING = frozenset({"SCMP_ACT_ALLOW", "SCMP_ACT_LOG"})


class BadField(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


@dataclass(frozen=True)
class EngineDefaults:
    """What the engine adds to every container (from its /info); None where unknown."""

    userns_remap: bool | None = None
    cgroupns_mode: str | None = None  # "host" or "private"
    apparmor: bool | None = None
    selinux: bool | None = None
    no_new_privileges: bool | None = None


@functools.lru_cache(maxsize=512)
def _keys(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def get(raw: Any, path: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
    """``raw["A"]["B"]`` for ``path="A.B"``, type-checked; absent/null gives ``default``."""
    node = raw
    for key in _keys(path):
        if type(node) is not dict:
            raise BadField(path, "is not an object")
        node = node.get(key)
        if node is None:
            if default is _MISSING:
                raise BadField(path, "is missing")
            return default
    if (kind is int and type(node) is bool) or not isinstance(node, kind):
        raise BadField(path, f"has an unexpected type ({type(node).__name__})")
    return node


def cap_names(values: list[Any]) -> list[str]:
    out = []
    for value in values:
        name = str(value).upper().removeprefix("CAP_")
        out.append(name if name == "ALL" else (normalise(name) or name))
    return out


def bounding_set(privileged: bool, added: list[str], dropped: list[str]) -> list[str]:
    """What Docker computes: defaults (or all) plus CapAdd minus CapDrop."""
    if privileged or "ALL" in added:
        base = set(CAPABILITIES)
    elif "ALL" in dropped:
        base = set()
    else:
        base = set(DOCKER_DEFAULT)
    result = (base | (set(added) - {"ALL"})) - (set(dropped) - {"ALL"})
    return [c for c in CAPABILITIES if c in result] + sorted(result - set(CAPABILITIES))


def parse_user(user: str) -> int | None:
    name = user.split(":", 1)[0]
    if name in ("", "root"):
        return 0
    return int(name) if name.isascii() and name.isdigit() else None


def security_opts(opts: list[Any]) -> dict[str, str]:
    """``["seccomp=unconfined", "no-new-privileges", "label:disable"]`` as a mapping."""
    out: dict[str, str] = {}
    for opt in opts:
        text = str(opt)
        key, sep, value = text.partition("=")
        if not sep:
            key, sep, value = text.partition(":")
        if key == "label" and key in out:
            out[key] += "," + value
        else:
            out[key] = value if sep else "true"
    return out


def seccomp_facts(opts: dict[str, str], privileged: bool) -> tuple[str, str, bool]:
    """(profile, mode, allows_all) from the security options."""
    value = opts.get("seccomp", "")
    if privileged or value == "unconfined":
        return "unconfined", "disabled", True
    if value in ("", "builtin", "default"):
        return "default", "filter", False
    try:
        profile = parse_json(value, "seccomp profile")
    except HardenError as exc:
        raise BadField("HostConfig.SecurityOpt", exc.message) from None
    if not isinstance(profile, dict):
        raise BadField("HostConfig.SecurityOpt", "seccomp profile is not a JSON object")
    rules = profile.get("syscalls") or []
    allows_all = profile.get("defaultAction") in ALLOWING and all(
        isinstance(r, dict) and r.get("action") in ALLOWING for r in rules
    )
    return "custom", "filter", allows_all


def selinux_parts(label: str, options: str = "") -> dict[str, str]:
    """The SELinux user, role and type a container *asks* for: ``label=user:x`` style
    options (``options`` is their comma-joined values); the type falls back to the
    engine-assigned label's (``user:role:type:level``, 'disabled': none)."""
    parts = dict.fromkeys(("user", "role", "type"), "")
    fields = label.split(":") if label and label != "disabled" else []
    if len(fields) >= 3:
        parts["type"] = fields[2]
    for option in options.split(","):
        key, sep, value = option.partition(":")
        if sep and key in parts:
            parts[key] = value
    return parts


def propagation_mode(value: str) -> str:
    value = value.removeprefix("r")
    return value if value in ("shared", "slave") else "private"


def namespace_mode(mode: str) -> str:
    if mode == "host" or mode.startswith("container:"):
        return mode
    return "private"
