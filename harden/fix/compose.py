"""Compose specifics of ``harden fix``: a bundle's service keys, and the override file.

An override file (``docker compose -f compose.yaml -f compose.harden.yaml``) merges into
the original: compose adds list entries to the original's, so a list that lost entries
is written ``!override`` and a removed key ``!reset`` (compose 2.24 and later).
"""

from __future__ import annotations

import re
from typing import Any

from harden.fix.steps import Change, add_items, plain, set_value, unset
from harden.system.yaml import PathKey

_BUNDLE_OPTS = re.compile(r"(no-new-privileges|seccomp|apparmor|label)([:=].*)?")
# compose keys a bundle sets, and where compose also takes them (deploy limits)
_LIMITS = {
    "mem_limit": ("deploy", "resources", "limits", "memory"),
    "cpus": ("deploy", "resources", "limits", "cpus"),
    "pids_limit": ("deploy", "resources", "limits", "pids"),
}


def apply_bundle(
    service: dict[Any, Any], form: dict[str, Any], seccomp_ref: str, at: tuple[int, PathKey]
) -> list[Change]:
    """The bundle's ``compose.yaml`` keys onto a service; its seccomp option names
    ``seccomp_ref`` (the profile's copy beside the compose file)."""
    out = unset(service, ("privileged",), at)
    out += set_value(service, ("cap_drop",), form.get("cap_drop", ["ALL"]), at)
    if form.get("cap_add"):
        out += set_value(service, ("cap_add",), form["cap_add"], at)
    else:
        out += unset(service, ("cap_add",), at)
    wanted = [
        f"seccomp:{seccomp_ref}" if str(o).startswith(("seccomp:", "seccomp=")) else str(o)
        for o in form.get("security_opt", [])
    ]
    current = service.get("security_opt")
    if isinstance(current, list):
        kept = [o for o in current if not _BUNDLE_OPTS.fullmatch(str(o))]
        if plain(current) != [*plain(kept), *wanted]:
            out += set_value(service, ("security_opt",), [*kept, *wanted], at)
    else:
        out += set_value(service, ("security_opt",), wanted, at)
    for key in ("read_only", "user"):
        if key in form:
            out += set_value(service, (key,), form[key], at)
    for key in ("tmpfs", "devices"):
        if form.get(key):
            out += add_items(service, (key,), form[key], at)
    for key, deploy in _LIMITS.items():
        if key in form:
            path = deploy if _has(service, deploy) else (key,)
            out += set_value(service, path, form[key], at)
    return out


def _has(node: Any, path: PathKey) -> bool:
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def override(before: Any, after: Any) -> dict[str, Any] | None:
    """A compose override file taking ``before`` to ``after`` (None: no change)."""
    from ruamel.yaml.comments import CommentedMap  # noqa: PLC0415

    services = CommentedMap()
    old = plain(before.get("services", {}))
    for name, service in plain(after.get("services", {})).items():
        body = _diff(old.get(name, {}), service)
        if body:
            services[name] = body
    return CommentedMap(services=services) if services else None


def _diff(before: dict[str, Any], after: dict[str, Any]) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar  # noqa: PLC0415
    from ruamel.yaml.tag import Tag  # noqa: PLC0415

    out = CommentedMap()
    for key, value in after.items():
        old = before.get(key)
        if old == value:
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = _diff(old, value)
        elif isinstance(old, list) and isinstance(value, list) and any(o not in value for o in old):
            seq = CommentedSeq(value)
            seq.yaml_set_ctag(Tag(suffix="!override"))
            out[key] = seq
        else:
            out[key] = value
    for key in before:
        if key not in after:
            out[key] = TaggedScalar("null", tag="!reset")
    return out
