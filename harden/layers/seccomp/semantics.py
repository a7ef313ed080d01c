"""What a profile says about one call: the reference semantics the compiled BPF must match.

This reads the JSON rules directly (no libseccomp), including the x86 multiplexers:
``socketcall``/``ipc`` stand for their sub-calls, and a sub-call whose rule needs
argument conditions cannot be checked through the multiplexer, so the profile does
not allow it there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harden.kernel.constants import IPC_CALLS, SOCKETCALL_CALLS
from harden.kernel.syscalls import Arch
from harden.layers.seccomp.model import ArchGroup, Decision, Profile, SyscallRule

MULTIPLEXERS: Mapping[Arch, Mapping[str, Mapping[int, str]]] = {
    Arch.X86: {"socketcall": SOCKETCALL_CALLS, "ipc": IPC_CALLS},
}


@dataclass(frozen=True)
class Ambiguity:
    """A syscall whose rules conflict, so the profile has no single meaning for it."""

    name: str
    decisions: tuple[Decision, ...]


class Semantics:
    """Decisions of one profile for one native arch group and capability set."""

    def __init__(self, profile: Profile, group: ArchGroup, caps: frozenset[str]) -> None:
        self.profile = profile
        self.group = group
        self.default = profile.default_decision()
        self.by_name: dict[str, list[SyscallRule]] = {}
        for rule in profile.rules:
            if rule.applies(group.native, caps):
                for name in rule.names:
                    self.by_name.setdefault(name, []).append(rule)

    def ambiguities(self) -> list[Ambiguity]:
        """Syscalls with two unconditional rules of different decisions, or an
        unconditional rule beside conditional rules of another decision."""
        found = []
        for name, rules in sorted(self.by_name.items()):
            decisions = {r.decision(self.profile.default_errno) for r in rules}
            if len(decisions) > 1 and any(not r.args for r in rules):
                found.append(Ambiguity(name, tuple(sorted(decisions, key=str))))
        return found

    def decide(self, arch: Arch, name: str, args: Sequence[int]) -> Decision:
        """The decision the profile states for ``name(args)`` on ``arch``."""
        rules = self.by_name.get(name)
        if rules:
            return self._from_rules(rules, args)
        sub_calls = MULTIPLEXERS.get(arch, {}).get(name)
        if sub_calls is not None and args:
            sub = sub_calls.get(args[0] & 0xFFFFFFFF)
            if sub is not None:
                sub_rules = self.by_name.get(sub, [])
                unconditional = [r for r in sub_rules if not r.args]
                if unconditional:
                    return unconditional[0].decision(self.profile.default_errno)
        return self.default

    def _from_rules(self, rules: list[SyscallRule], args: Sequence[int]) -> Decision:
        for rule in rules:
            if not rule.args:
                return rule.decision(self.profile.default_errno)
        for rule in rules:
            for conds in rule.condition_groups():
                if all(c.matches(args[c.index] if c.index < len(args) else 0) for c in conds):
                    return rule.decision(self.profile.default_errno)
        return self.default

    def conditions_for(self, name: str) -> list[SyscallRule]:
        return [r for r in self.by_name.get(name, []) if r.args]
