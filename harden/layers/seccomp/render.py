"""The profile as Docker/OCI JSON: the one place seccomp JSON is written.

Writing is deterministic (the model's order, fixed indent, a trailing newline).
"""

from __future__ import annotations

import json
from typing import Any

from harden.layers.seccomp.model import Action, Profile, SyscallRule

SECCOMP_FILE = "seccomp.json"


def to_docker_json(profile: Profile) -> dict[str, Any]:
    """The profile as Docker's JSON (``archMap`` form), ready for ``--security-opt seccomp=``."""
    out: dict[str, Any] = {"defaultAction": profile.default_action.value}
    if profile.default_action is Action.ERRNO:
        out["defaultErrnoRet"] = profile.default_errno
    out["archMap"] = [
        {"architecture": g.native.scmp_name, "subArchitectures": [s.scmp_name for s in g.subs]}
        for g in profile.arch_map
    ]
    out["syscalls"] = [_rule_json(r) for r in profile.rules]
    return out


def to_oci_json(profile: Profile) -> dict[str, Any]:
    """The profile as the OCI runtime-spec ``linux.seccomp`` object."""
    out: dict[str, Any] = {"defaultAction": profile.default_action.value}
    if profile.default_action is Action.ERRNO:
        out["defaultErrnoRet"] = profile.default_errno
    out["architectures"] = [a.scmp_name for a in profile.arches()]
    out["syscalls"] = [
        {k: v for k, v in _rule_json(r).items() if k in {"names", "action", "args", "errnoRet"}}
        for r in profile.rules
    ]
    return out


def _rule_json(rule: SyscallRule) -> dict[str, Any]:
    entry: dict[str, Any] = {"names": list(rule.names), "action": rule.action.value}
    if rule.args:
        entry["args"] = [
            {"index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op.value}
            for a in rule.args
        ]
    if rule.errno is not None and rule.action in (Action.ERRNO, Action.TRACE):
        entry["errnoRet"] = rule.errno
    if rule.comment:
        entry["comment"] = rule.comment
    for key, cond in (("includes", rule.includes), ("excludes", rule.excludes)):
        if not cond.is_empty():
            block: dict[str, Any] = {}
            if cond.caps:
                block["caps"] = list(cond.caps)
            if cond.arches:
                block["arches"] = list(cond.arches)
            if cond.min_kernel:
                block["minKernel"] = cond.min_kernel
            entry[key] = block
    return entry


def dumps(data: object) -> str:
    """Deterministic JSON text with a trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def files(profile: Profile) -> dict[str, bytes]:
    """``seccomp.json``: the Docker form (the OCI form goes into oci-config.json)."""
    return {SECCOMP_FILE: dumps(to_docker_json(profile)).encode()}
