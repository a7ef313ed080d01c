"""Why a bundle broke its workload, found by re-running it with one layer relaxed.

    1. no bundle at all        -> still fails: the check is broken, not the profile
    2. seccomp LOG, not deny   -> passes: the kernel log names the denied syscalls
    3. + the engine's default capabilities -> passes: drop them one by one to name those needed
    4. + a writable root       -> passes: the engine's diff names the written paths

Each step keeps the result of the previous ones, so several missing pieces are found
in one diagnosis. Kernel log records are kept only for the workload's own pids.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from harden.kernel import capabilities as capmod
from harden.kernel.syscalls import audited_syscall
from harden.layers.seccomp.model import Action
from harden.progress import Progress
from harden.runtime.prove.attempt import (
    BUNDLE,
    Attempt,
    AttemptLog,
    ProveTarget,
    Variant,
    attempt,
    with_changes,
)
from harden.system.kmsg import KernelLog, SeccompRecord, unlimited_printk

# Docker's default capability set (what a container has without --cap-drop), kernel order.
ENGINE_DEFAULT_CAPS: tuple[str, ...] = tuple(
    c for c in capmod.CAPABILITIES if c in capmod.DOCKER_DEFAULT
)
_FILTERED = {
    "socket": "a socket of an address family or type the network section does not allow",
    "socketpair": "socketpair() of a family other than AF_UNIX",
    "clone": "clone() with namespace flags (needs SYS_ADMIN)",
    "personality": "personality() with an unsafe persona",
}


@dataclass
class Diagnosis:
    """What the relaxed runs showed, and the spec additions that would fix the bundle."""

    broken_check: bool = False
    syscalls: dict[str, set[str]] = field(default_factory=dict)  # name -> programs
    runtime_syscalls: set[str] = field(default_factory=set)
    filtered: dict[str, str] = field(default_factory=dict)  # name -> why its filter failed
    capabilities: list[str] = field(default_factory=list)
    tmpfs: list[str] = field(default_factory=list)
    unexplained: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def found_something(self) -> bool:
        return bool(self.syscalls or self.runtime_syscalls or self.filtered
                    or self.capabilities or self.tmpfs)  # fmt: skip


def _names(records: list[SeccompRecord], pids: frozenset[int], diag: Diagnosis,
           allowed: set[str]) -> None:  # fmt: skip
    for rec in records:
        if rec.pid not in pids:
            continue  # another container's process: not ours to report
        found = audited_syscall(rec.arch, rec.nr)
        if found is None:
            continue
        name = found[1]
        if name in allowed and name in _FILTERED:
            diag.filtered[name] = _FILTERED[name]
        elif rec.comm.startswith("runc"):
            diag.runtime_syscalls.add(name)
        else:
            diag.syscalls.setdefault(name, set()).add(rec.comm)


@dataclass
class _Runs:
    """The attempts of one diagnosis."""

    client: Any
    target: ProveTarget
    progress: Progress
    log: AttemptLog
    diag: Diagnosis

    def plain(self, variant: Variant) -> Attempt:
        return self.log.add(attempt(self.client, self.target, variant, self.progress))

    def logged(self, variant: Variant) -> Attempt:
        """An attempt whose seccomp records (of the workload's pids) go into the diagnosis."""
        from harden.layers.seccomp.build import allowed_names  # noqa: PLC0415

        with unlimited_printk(), KernelLog() as kernel:
            result = self.plain(variant)
            records = list(kernel.records())
        bundle = self.target.bundle
        allowed: set[str] = set()
        for native in bundle.spec.architectures:
            allowed |= allowed_names(bundle.seccomp, native, frozenset(bundle.caps.keep))
        _names(records, result.pids, self.diag, allowed)
        return result


LOGGING = with_changes(BUNDLE, label="the bundle, seccomp logging instead of denying",
                       seccomp_default=Action.LOG, track_pids=True)  # fmt: skip


def silent_denials(
    client: Any, target: ProveTarget, progress: Progress, log: AttemptLog
) -> Diagnosis:
    """After a pass: run again with unlisted syscalls logged instead of denied; any record
    of the workload's pids is a call the bundle denies without the check noticing."""
    runs = _Runs(client, target, progress, log, Diagnosis())
    audit = with_changes(LOGGING, label="the bundle, logging what it would deny")
    if not runs.logged(audit).passed:
        runs.diag.notes.append("the workload failed when unlisted syscalls were only logged")
    return runs.diag


def diagnose(client: Any, target: ProveTarget, progress: Progress, log: AttemptLog) -> Diagnosis:
    """Find what the bundle lacks; every attempt made is appended to ``log``."""
    runs = _Runs(client, target, progress, log, Diagnosis())
    diag = runs.diag
    if not runs.plain(Variant("no bundle (engine defaults)", unconfined=True)).passed:
        diag.broken_check = True
        return diag
    logging = LOGGING
    if runs.logged(logging).passed:
        if not diag.found_something:
            diag.notes.append(
                "it passes when unlisted syscalls are logged instead of denied, but no "
                "kernel record named them (rate-limited kernel log?)"
            )
        return diag
    bundle_caps = tuple(target.bundle.caps.keep)
    added = tuple(c for c in ENGINE_DEFAULT_CAPS if c not in bundle_caps)
    with_caps = with_changes(logging, label="seccomp logging + the engine's default capabilities",
                             capabilities=bundle_caps + added)  # fmt: skip
    if runs.logged(with_caps).passed:
        diag.capabilities = _needed_caps(runs, with_caps, bundle_caps, added)
        return diag
    writable = with_changes(with_caps, label="seccomp logging + default capabilities + "
                            "a writable root", read_only=False, collect_diff=True)  # fmt: skip
    result = runs.logged(writable)
    if result.passed and target.bundle.spec.read_only_rootfs:
        diag.tmpfs = _scratch_dirs(result.changed, target.bundle.spec.files.tmpfs)
        return diag
    diag.unexplained = (
        "it still fails with seccomp logging, the engine's default capabilities and a "
        "writable root, but passes without the bundle: look at the user "
        f"({target.bundle.spec.user.uid}:{target.bundle.spec.user.gid}), "
        "no_new_privileges, resources and devices of the spec"
    )
    return diag


def _needed_caps(
    runs: _Runs, passing: Variant, base: tuple[str, ...], added: tuple[str, ...]
) -> list[str]:
    """Drop the added capabilities one at a time; keep those the check needs."""
    keep = list(added)
    for cap in added:
        trial = [c for c in keep if c != cap]
        variant = with_changes(passing, label=f"seccomp logging + capabilities without {cap}",
                               capabilities=base + tuple(trial), track_pids=False)  # fmt: skip
        if runs.plain(variant).passed:
            keep = trial
    return keep


def _scratch_dirs(changed: tuple[str, ...], tmpfs: tuple[str, ...]) -> list[str]:
    """Directories the workload wrote to that no tmpfs covers (the engine's diff)."""
    dirs: set[str] = set()
    for path in changed:
        if any(path == t or path.startswith(t.rstrip("/") + "/") for t in tmpfs):
            continue
        parent = posixpath.dirname(path)
        if parent and parent != "/" and not any(c.startswith(path + "/") for c in changed):
            dirs.add(parent)
    return sorted(d for d in dirs if not any(d.startswith(o + "/") for o in dirs))
