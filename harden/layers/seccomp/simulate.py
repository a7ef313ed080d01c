"""Proving a compiled filter means what its JSON says, call by call.

Every syscall number of every architecture in the filter, numbers beyond the table,
foreign architecture tokens and, for argument-filtered syscalls, argument values on
both sides of every comparison, are run through the exported BPF and compared with
:class:`~harden.layers.seccomp.semantics.Semantics`. Any difference is an error.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from harden.kernel import syscalls as sc
from harden.kernel.syscalls import X32_SYSCALL_BIT, Arch
from harden.layers.seccomp import bpf
from harden.layers.seccomp.compile import CompiledFilter
from harden.layers.seccomp.model import U64, Action, ArchGroup, ArgCond, Decision, Op, Profile
from harden.layers.seccomp.semantics import MULTIPLEXERS, Semantics

_MAX_VECTORS = 256
# On 32-bit ABIs the kernel zero-extends registers, so argument values fit in 32 bits.
# On x32 libseccomp compares the low 32 bits only; the kernel truncates the int and
# unsigned int arguments harden filters (family, type, persona), and every clone
# namespace flag lies in the low 32 bits, so only low halves are meaningful there too.
_ARG_MASK = {Arch.X86: 0xFFFFFFFF, Arch.ARM: 0xFFFFFFFF, Arch.X32: 0xFFFFFFFF}
_EXTRA_NUMBERS = 16


@dataclass(frozen=True)
class Mismatch:
    arch: str
    nr: int
    name: str
    args: tuple[int, ...]
    expected: Decision
    compiled: Decision

    def __str__(self) -> str:
        shown = ", ".join(hex(a) for a in self.args[:3]) if any(self.args) else ""
        return (
            f"{self.arch} {self.name}({shown}) [nr {self.nr}]: profile says "
            f"{self.expected}, compiled filter does {self.compiled}"
        )


@dataclass(frozen=True)
class SimulationReport:
    native: Arch
    cases: int
    syscalls: int
    mismatches: tuple[Mismatch, ...]
    ambiguous: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.ambiguous


def _normal(decision: Decision) -> Decision:
    if decision.action is Action.KILL:
        return Decision(Action.KILL_THREAD)
    return decision


def _candidates(cond: ArgCond) -> set[int]:
    if cond.op is Op.MASKED_EQ:
        values = {cond.value_two, cond.value, 0, U64, cond.value_two | ~cond.value & U64}
        bits = [1 << b for b in range(64) if cond.value >> b & 1][:12]
        values.update(cond.value_two ^ bit for bit in bits)
        return {v & U64 for v in values}
    v = cond.value
    return {x & U64 for x in (v, v - 1, v + 1, 0, U64, v | 1 << 32, v ^ 1 << 63)}


def _vectors(sem: Semantics, arch: Arch, name: str) -> Iterator[tuple[int, ...]]:
    multiplexed = MULTIPLEXERS.get(arch, {}).get(name)
    if multiplexed is not None:
        for sub in range(max(multiplexed) + 3):
            yield (sub,)
        return
    rules = sem.conditions_for(name)
    if not rules:
        yield ()
        return
    per_index: dict[int, set[int]] = {}
    for rule in rules:
        for cond in rule.args:
            per_index.setdefault(cond.index, set()).update(_candidates(cond))
    indices = sorted(per_index)
    mask = _ARG_MASK.get(arch, U64)
    choices = [sorted({v & mask for v in per_index[i]}) for i in indices]
    for combo in itertools.islice(itertools.product(*choices), _MAX_VECTORS):
        args = [0] * 6
        for i, value in zip(indices, combo, strict=True):
            args[i] = value
        yield tuple(args)


def simulate(profile: Profile, compiled: CompiledFilter, caps: frozenset[str]) -> SimulationReport:
    """Run every call of every architecture of one group through the compiled filter."""
    group = compiled.group
    sem = Semantics(profile, group, caps)
    program = bpf.decode(compiled.bpf)
    mismatches: list[Mismatch] = []
    cases = 0
    names = 0
    for arch in (group.native, *group.subs):
        table = sc.table(arch)
        names += len(table)
        for nr, name in table.items():
            for args in _vectors(sem, arch, name):
                cases += 1
                data = bpf.seccomp_data(nr, arch.audit_arch, args)
                got = _normal(bpf.to_decision(bpf.run(program, data)))
                want = _normal(sem.decide(arch, name, args))
                if got != want:
                    mismatches.append(Mismatch(arch.value, nr, name, args, want, got))
        cases += _beyond_table(program, sem, arch, table, mismatches)
    cases += _foreign(program, group, mismatches)
    ambiguous = tuple(f"{a.name}: {', '.join(map(str, a.decisions))}" for a in sem.ambiguities())
    return SimulationReport(group.native, cases, names, tuple(mismatches), ambiguous)


def _decide(program: tuple[bpf.Insn, ...], nr: int, arch_token: int) -> Decision:
    return _normal(bpf.to_decision(bpf.run(program, bpf.seccomp_data(nr, arch_token))))


def _beyond_table(
    program: tuple[bpf.Insn, ...],
    sem: Semantics,
    arch: Arch,
    table: Mapping[int, str],
    mismatches: list[Mismatch],
) -> int:
    """Numbers just past the newest syscall the table knows get the default action."""
    regular = [n for n in table if arch is not Arch.ARM or n < 0x0F0000]
    top = max(regular) if regular else 0
    want = _normal(sem.default)
    for nr in range(top + 1, top + 1 + _EXTRA_NUMBERS):
        got = _decide(program, nr, arch.audit_arch)
        if got != want:
            mismatches.append(Mismatch(arch.value, nr, "(unknown)", (), want, got))
    return _EXTRA_NUMBERS


def _foreign(program: tuple[bpf.Insn, ...], group: ArchGroup, mismatches: list[Mismatch]) -> int:
    """Calls from ABIs outside the group must hit the bad-architecture action (kill)."""
    members = {group.native, *group.subs}
    want = Decision(Action.KILL_THREAD)
    count = 0
    for arch in Arch:
        if arch in members:
            continue
        if arch is not Arch.X32 and arch.audit_arch in {m.audit_arch for m in members}:
            continue
        count += 1
        nr = X32_SYSCALL_BIT if arch is Arch.X32 else 0
        got = _decide(program, nr, arch.audit_arch)
        if got != want:
            mismatches.append(Mismatch(arch.value, nr, "(foreign architecture)", (), want, got))
    return count
