"""Compiling a seccomp profile into BPF with libseccomp, the way runc does it.

One filter per native architecture group (x86_64 + x86 + x32, aarch64 + arm). Rules
whose decision equals the default are skipped, exactly as runc skips them: this is
what makes an EPERM deny rule under an EPERM default a no-op, and the simulator
catches where that changes what the profile means.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harden.errors import CheckFailed
from harden.kernel import syscalls as sc
from harden.layers.seccomp.model import Action, ArchGroup, Decision, Op, Profile, SyscallRule

_OPS = {Op.NE: 1, Op.LT: 2, Op.LE: 3, Op.EQ: 4, Op.GE: 5, Op.GT: 6, Op.MASKED_EQ: 7}
_OPTIMIZE_BINARY_TREE = 2


@dataclass(frozen=True)
class CompiledFilter:
    """The BPF program (and its pseudo-code) for one native architecture group."""

    group: ArchGroup
    bpf: bytes
    pfc: str


def action_value(decision: Decision) -> int:
    mod = sc.seccomp_module()
    match decision.action:
        case Action.ALLOW:
            return int(mod.ALLOW)
        case Action.ERRNO:
            return int(mod.ERRNO(decision.data))
        case Action.KILL | Action.KILL_THREAD:
            return int(mod.KILL_THREAD)
        case Action.KILL_PROCESS:
            return int(mod.KILL_PROCESS)
        case Action.TRAP:
            return int(mod.TRAP)
        case Action.TRACE:
            return int(mod.TRACE(decision.data))
        case Action.LOG:
            return int(mod.LOG)
        case Action.NOTIFY:
            return int(mod.NOTIFY)


def build_filter(
    profile: Profile, group: ArchGroup, caps: frozenset[str], *, no_new_privs: bool = True
) -> Any:
    """A libseccomp filter object for one arch group (not yet loaded or exported)."""
    mod = sc.seccomp_module()
    default = profile.default_decision()
    filt = mod.SyscallFilter(action_value(default))
    for arch in (group.native, *group.subs):
        token = sc.scmp_token(arch)
        if not filt.exist_arch(token):
            filt.add_arch(token)
    native_token = mod.system_arch()
    if native_token not in {sc.scmp_token(a) for a in (group.native, *group.subs)}:
        filt.remove_arch(native_token)
    filt.set_attr(mod.Attr.CTL_NNP, 1 if no_new_privs else 0)
    # a binary tree keeps the filter short; older libseccomp lacks the attribute
    with contextlib.suppress(OSError):
        filt.set_attr(mod.Attr.CTL_OPTIMIZE, _OPTIMIZE_BINARY_TREE)
    known = frozenset().union(*(sc.names(a) for a in (group.native, *group.subs)))
    for rule in _effective_rules(profile, group, caps):
        decision = rule.decision(profile.default_errno)
        if decision == default:
            continue  # runc drops rules that repeat the default action
        for name in rule.names:
            if name not in known:
                continue  # runc ignores names the architecture lacks
            for conds in rule.condition_groups():
                args = [mod.Arg(c.index, _OPS[c.op], c.value, c.value_two) for c in conds]
                try:
                    filt.add_rule(action_value(decision), name, *args)
                except OSError as exc:
                    raise CheckFailed(
                        f"libseccomp rejected the rule for {name!r} ({rule.action.value}"
                        f"{' with argument conditions' if conds else ''}) on "
                        f"{group.native}: {exc.strerror or exc}",
                        hint="rules for one syscall must not conflict",
                    ) from None
    return filt


def _effective_rules(
    profile: Profile, group: ArchGroup, caps: frozenset[str]
) -> Iterable[SyscallRule]:
    return (r for r in profile.rules if r.applies(group.native, caps))


def compile_group(profile: Profile, group: ArchGroup, caps: frozenset[str]) -> CompiledFilter:
    """BPF bytes and PFC text for one arch group."""
    filt = build_filter(profile, group, caps)
    with tempfile.TemporaryFile() as bpf_file, tempfile.TemporaryFile("w+") as pfc_file:
        filt.export_bpf(bpf_file)
        filt.export_pfc(pfc_file)
        bpf_file.seek(0)
        pfc_file.seek(0)
        return CompiledFilter(group, bpf_file.read(), pfc_file.read())


def compile_profile(profile: Profile, caps: frozenset[str]) -> tuple[CompiledFilter, ...]:
    """A compiled filter for every arch group of the profile."""
    if not profile.arch_map:
        raise CheckFailed("the profile lists no architecture harden can compile for")
    return tuple(compile_group(profile, group, caps) for group in profile.arch_map)
