"""The output of ``harden diff`` and ``harden explain``: pure renderers, text or JSON.

Profile labels and syscall names come from files the user was given (a foreign
profile may name anything), so they are shown literally (:func:`shown`).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harden.report.text import shown

if TYPE_CHECKING:
    from harden.layers.seccomp.diff import ArchDiff, ProfileDiff
    from harden.layers.seccomp.explain import Explanation

WIDTH = 100


class ProfileFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True)
class ProfileOptions:
    format: ProfileFormat = ProfileFormat.TEXT
    names: bool = True  # diff: list the differing syscall names


def _wrap(prefix: str, items: tuple[str, ...], width: int = WIDTH) -> str:
    lines, line = [], prefix
    for item in (shown(i) for i in items):
        if len(line) + len(item) + 2 > width and line.strip():
            lines.append(line.rstrip())
            line = " " * len(prefix)
        line += item + ", "
    lines.append(line.rstrip(", "))
    return "\n".join(lines)


def _arch_json(d: ArchDiff) -> dict[str, object]:
    return {
        "arch": d.arch.value,
        "allowed_a": d.count_a,
        "allowed_b": d.count_b,
        "common": d.common,
        "only_a": list(d.only_a),
        "only_b": list(d.only_b),
        "conditional_a": list(d.conditional_a),
        "conditional_b": list(d.conditional_b),
    }


def _arch_text(d: ArchDiff, names: bool) -> list[str]:
    ratio = f" ({d.count_a / d.count_b:.0%} of B)" if d.count_b else ""
    lines = [
        "",
        f"{d.arch.value}: A allows {d.count_a}, B allows {d.count_b}{ratio}; "
        f"{d.common} in both, {len(d.only_a)} only in A, {len(d.only_b)} only in B",
    ]
    if d.conditional_a:
        lines.append(f"  argument-filtered in A: {', '.join(map(shown, d.conditional_a))}")
    if names and d.only_a:
        lines.append(_wrap("  only in A: ", d.only_a))
    if names and d.only_b:
        lines.append(_wrap("  only in B: ", d.only_b))
    return lines


def render_diff(diff: ProfileDiff, options: ProfileOptions) -> str:
    """Per architecture: counts, and what each profile allows that the other does not."""
    if options.format is ProfileFormat.JSON:
        doc = {
            "a": diff.label_a,
            "b": diff.label_b,
            "architectures": [_arch_json(d) for d in diff.arches],
        }
        return json.dumps(doc, indent=2) + "\n"
    lines = [f"A: {shown(diff.label_a)}", f"B: {shown(diff.label_b)}"]
    for d in diff.arches:
        lines += _arch_text(d, options.names)
    return "\n".join(lines) + "\n"


def render_explanation(explanation: Explanation, options: ProfileOptions) -> str:
    """Every syscall the profile names: its decision, where it came from and why."""
    entries = explanation.entries
    if options.format is ProfileFormat.JSON:
        doc = {
            "profile": explanation.label,
            "allowed": explanation.allowed,
            "syscalls": [
                {
                    "syscall": e.syscall,
                    "decision": e.decision,
                    "origins": list(e.origins),
                    "reasons": list(e.reasons),
                    "architectures": list(e.arches),
                }
                for e in entries
            ],
        }
        return json.dumps(doc, indent=2) + "\n"
    counts = ", ".join(f"{k} {v}" for k, v in explanation.allowed.items())
    lines = [f"{shown(explanation.label)}: allows {counts} syscalls; default {explanation.default}"]
    width = max((len(shown(e.syscall)) for e in entries), default=8)
    for e in entries:
        why = "; ".join(e.reasons) or "; ".join(e.origins)
        lines.append(f"{shown(e.syscall):<{width}}  {shown(e.decision)}")
        lines.append(f"{'':<{width}}    from {shown(', '.join(e.origins))}: {shown(why)}")
    return "\n".join(lines) + "\n"
