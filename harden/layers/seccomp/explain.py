"""Why each syscall is in a profile: origins from rule comments, reasons from the catalog."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from harden.kernel import syscalls as sc
from harden.kernel.syscalls import Arch
from harden.layers.seccomp.build import ORIGIN_PREFIX, allowed_names
from harden.layers.seccomp.builtin import resolve
from harden.layers.seccomp.model import Action, ArgCond, Decision, Op, Profile, SyscallRule
from harden.profile.catalog import capability_facts, syscall_sets


@dataclass(frozen=True)
class Entry:
    syscall: str
    decision: str  # "allow", "allow if ...", "ENOSYS", ...
    origins: tuple[str, ...]
    reasons: tuple[str, ...]
    arches: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    """A profile as the user named it: what it allows, its default, and every syscall."""

    label: str
    allowed: dict[str, int]  # allowed syscall count per architecture
    default: Decision
    entries: tuple[Entry, ...]


def _origins(rule: SyscallRule) -> tuple[list[str], str]:
    text = rule.comment
    if not text.startswith(ORIGIN_PREFIX):
        return ([f"comment: {text}"] if text else ["(no origin recorded)"]), ""
    body, _, note = text[len(ORIGIN_PREFIX) :].partition(" -- ")
    return [o.strip() for o in body.split(";") if o.strip()], note


def _reason(origin: str, name: str) -> str:
    kind, _, what = origin.partition(" ")
    if kind == "set":
        found = syscall_sets().get(what)
        if found is not None and name in found.syscalls:
            return found.syscalls[name]
        return f"part of set {what}"
    if kind == "capability":
        facts = capability_facts().get(what)
        return f"the spec grants {what}" + (f" ({facts.summary})" if facts else "")
    if kind == "spec":
        return f"listed in the spec ({what})"
    return ""


_MULTIPLEXER_REASON = (
    "the 32-bit x86 multiplexer: each call number allowed stands for the direct syscall "
    "of its name, which the profile allows; the call's own arguments are in memory"
)
_COLLAPSE_FROM = 5  # argument rules with one note read as one decision


def _cond_text(cond: ArgCond) -> str:
    if cond.op is Op.MASKED_EQ:
        return f"arg{cond.index} & {cond.value:#x} == {cond.value_two:#x}"
    symbol = {Op.EQ: "==", Op.NE: "!=", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}
    return f"arg{cond.index} {symbol[cond.op]} {cond.value:#x}"


def _decision(rule: SyscallRule, note: str) -> str:
    if rule.action is Action.ALLOW:
        if not rule.args:
            return "allow"
        conds = " and ".join(_cond_text(c) for c in rule.args)
        return f"allow if {conds}" + (f" ({note})" if note else "")
    decision = rule.decision(1)
    return str(decision).replace("ERRNO(38)", "ENOSYS").replace("ERRNO(1)", "EPERM")


def explain(profile: Profile, caps: frozenset[str] = frozenset()) -> list[Entry]:
    """One entry per syscall named by a rule that applies, in name order."""
    merged: dict[str, dict[str, list[str]]] = {}
    applying = [
        r for r in profile.rules if any(r.applies(g.native, caps) for g in profile.arch_map)
    ]
    notes = Counter(
        (name, _origins(r)[1]) for r in applying if r.args and _origins(r)[1] for name in r.names
    )
    for rule in applying:
        origins, note = _origins(rule)
        decision = _decision(rule, note)
        many = [n for n in rule.names if notes[(n, note)] >= _COLLAPSE_FROM]
        if rule.action is Action.ALLOW and rule.args and many:
            decision = f"allow if {note} ({notes[(many[0], note)]} argument rules)"
        for name in rule.names:
            slot = merged.setdefault(name, {"decisions": [], "origins": [], "reasons": []})
            if decision not in slot["decisions"]:
                slot["decisions"].append(decision)
            for origin in origins:
                if origin not in slot["origins"]:
                    slot["origins"].append(origin)
                reason = _reason(origin, name)
                if name in ("socketcall", "ipc") and rule.args:
                    reason = _MULTIPLEXER_REASON
                if reason and reason not in slot["reasons"]:
                    slot["reasons"].append(reason)
    entries = []
    present = profile.arches()
    for name in sorted(merged):
        slot = merged[name]
        arches = tuple(a.value for a in present if name in sc.names(a))
        entries.append(
            Entry(
                name,
                " | ".join(slot["decisions"]),
                tuple(slot["origins"]),
                tuple(slot["reasons"]),
                arches,
            )
        )
    return entries


def summary(profile: Profile) -> dict[str, int]:
    """Allowed syscall counts per architecture."""
    return {a.value: len(allowed_names(profile, a)) for a in Arch if a in profile.arches()}


def explain_profile(arg: str, caps: frozenset[str] = frozenset()) -> Explanation:
    """The profile from a file, a bundle directory or a built-in name, explained."""
    label, profile = resolve(arg)
    entries = tuple(explain(profile, caps))
    return Explanation(label, summary(profile), profile.default_decision(), entries)
