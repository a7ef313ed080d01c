"""From the kernel's seccomp records of one workload to spec additions. Pure.

A complain-mode bundle (``harden generate --complain``) logs every syscall it would deny
instead of denying it; each record names the process (pid, comm), the ABI and the
syscall number. The proposal lists each syscall with the programs that made it and how
often, and :func:`apply` adds them to a spec's ``syscalls.allow`` (or ``arch_specific``
for another ABI), keeping every origin comment the spec already has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from harden.kernel.syscalls import Arch, audited_syscall
from harden.runtime.record.draft import Draft, Origin
from harden.system.kmsg import SeccompRecord


@dataclass
class Proposal:
    """Syscalls the bundle would deny, per ABI: name -> program -> count."""

    calls: dict[Arch, dict[str, dict[str, int]]] = field(default_factory=dict)
    records: int = 0
    foreign: int = 0  # records of other processes, left out
    dropped: int = 0  # records the kernel said it dropped

    def add(self, record: SeccompRecord, pids: set[int]) -> None:
        if record.pid not in pids:
            self.foreign += 1
            return
        found = audited_syscall(record.arch, record.nr)
        if found is None:
            return
        arch, name = found
        self.records += 1
        by_prog = self.calls.setdefault(arch, {}).setdefault(name, {})
        by_prog[record.comm] = by_prog.get(record.comm, 0) + 1

    @property
    def empty(self) -> bool:
        return not self.calls


def describe(calls: dict[str, int]) -> str:
    return ", ".join(f"{comm} x{n}" for comm, n in sorted(calls.items()))


def lines(proposal: Proposal) -> list[str]:
    out = []
    for arch, names in sorted(proposal.calls.items()):
        for name, calls in sorted(names.items()):
            out.append(f"{arch.value} {name}: {describe(calls)}")
    return out


def apply(draft: Draft, proposal: Proposal, native: Iterable[Arch]) -> list[str]:
    """Add the proposed syscalls to the draft; returns the names added."""
    natives = set(native)
    added = []
    syscalls = draft.data.setdefault("syscalls", {})
    for arch, names in sorted(proposal.calls.items()):
        if arch in natives:
            path: tuple[str, ...] = ("syscalls", "allow")
            target = syscalls.setdefault("allow", [])
        else:
            path = ("syscalls", "arch_specific", arch.value)
            target = syscalls.setdefault("arch_specific", {}).setdefault(arch.value, [])
        for name, calls in sorted(names.items()):
            if name in target:
                continue
            target.append(name)
            target.sort()
            draft.note(
                (*path, name), Origin.RECORDED, f"learnt from the kernel log: {describe(calls)}"
            )
            added.append(name)
        deny = syscalls.get("deny") or []
        for name in names:
            if name in deny:
                deny.remove(name)
    return added
