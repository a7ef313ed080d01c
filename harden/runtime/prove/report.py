"""Proof reports as text, and the spec additions a failed proof calls for. Pure."""

from __future__ import annotations

from typing import Any

import yaml

from harden.runtime.prove.diagnose import Diagnosis
from harden.runtime.prove.prove import CapProof, Proof
from harden.runtime.record.draft import clean


def additions(diag: Diagnosis, denied: tuple[str, ...] = ()) -> dict[str, Any]:
    """The spec keys to add (as data) so that the bundle passes; names the spec denies
    explicitly are left out (they must be removed from ``syscalls.deny`` instead)."""
    spec: dict[str, Any] = {}
    names = sorted((set(diag.syscalls) | diag.runtime_syscalls) - set(denied))
    if names:
        spec["syscalls"] = {"allow": names}
    if diag.capabilities:
        spec["capabilities"] = [
            {"name": c, "reason": "the check fails without it (harden prove)"}
            for c in diag.capabilities
        ]
    if diag.tmpfs:
        spec["files"] = {"tmpfs": diag.tmpfs}
    return spec


def additions_yaml(diag: Diagnosis, denied: tuple[str, ...] = ()) -> str:
    data = additions(diag, denied)
    if not data:
        return ""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def _attempt_lines(proof: Proof | CapProof) -> list[str]:
    return [f"  - {clean(a.variant.label)}: {clean(a.summary())}" for a in proof.attempts]


def render_proof(proof: Proof) -> str:
    target = proof.target
    head = (
        f"bundle {target.bundle.path} on image {target.image}, check {target.check!r} "
        f"({target.check_where.value})"
    )
    if target.load:
        head += f", load {target.load!r}"
        if target.load_duration:
            head += f" for {target.load_duration:g} s"
    if target.restart:
        head += ", restarted"
    if proof.passed and proof.quiet:
        return f"PASS: {clean(head)}\n" + "\n".join(_attempt_lines(proof)) + "\n"
    if proof.passed:
        assert proof.silent is not None
        lines = [f"FAIL (silent denials): {clean(head)}", "attempts:", *_attempt_lines(proof)]
        lines.append("the check passed, but the kernel log shows calls the bundle denies:")
        lines += _findings(proof.silent)
        text = additions_yaml(proof.silent, target.bundle.spec.syscalls.deny)
        if text:
            lines += ["add to the spec, then regenerate the bundle (harden generate):", ""]
            lines += ["  " + line for line in text.splitlines()]
        return "\n".join(lines) + "\n"
    lines = [f"FAIL: {clean(head)}", "attempts:", *_attempt_lines(proof)]
    diag = proof.diagnosis
    if diag is None:
        return "\n".join(lines) + "\n"
    if diag.broken_check:
        lines.append(
            "the check fails even without the bundle (engine defaults): the check or the "
            "workload is broken, not the profile"
        )
        return "\n".join(lines) + "\n"
    lines += _findings(diag)
    denied = target.bundle.spec.syscalls.deny
    undeny = sorted((set(diag.syscalls) | diag.runtime_syscalls) & set(denied))
    if undeny:
        lines.append(f"remove from syscalls.deny of the spec: {', '.join(undeny)}")
    text = additions_yaml(diag, denied)
    if text:
        lines += ["add to the spec, then regenerate the bundle (harden generate):", ""]
        lines += ["  " + line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def _findings(diag: Diagnosis) -> list[str]:
    lines = []
    for name, programs in sorted(diag.syscalls.items()):
        lines.append(f"denied syscall: {name} (by {', '.join(sorted(programs))})")
    for name in sorted(diag.runtime_syscalls):
        lines.append(
            f"denied syscall: {name} (by the container runtime after the filter was "
            "installed: the runtime base set lacks it; re-measure with harden measure-runtime)"
        )
    for name, why in sorted(diag.filtered.items()):
        lines.append(f"argument filter rejected {name}: {why}")
    for cap in diag.capabilities:
        lines.append(f"missing capability: {cap}")
    for folder in diag.tmpfs:
        lines.append(f"writes outside files.tmpfs on the read-only root: {folder}")
    if diag.unexplained:
        lines.append(diag.unexplained)
    lines += diag.notes
    return lines


def render_caps(proof: CapProof) -> str:
    start = ", ".join(proof.start) or "none"
    kept = ", ".join(proof.kept) or "none"
    lines = [f"capabilities: started with {start}; proven minimal set: {kept}"]
    for verdict in proof.verdicts:
        word = "KEEP" if verdict.kept else "drop"
        lines.append(f"  {word} {verdict.capability}: {clean(verdict.evidence)}")
    lines += ["attempts:", *_attempt_lines(proof)]
    return "\n".join(lines) + "\n"
