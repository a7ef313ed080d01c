"""The seccomp profile model shared by the builder, the compiler, the simulator and diff.

It mirrors the Docker/OCI JSON profile format (moby's ``types.Seccomp``) closely enough
to round-trip it, with closed sets as enums and everything frozen.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from harden.kernel.constants import EPERM
from harden.kernel.syscalls import Arch


class Action(enum.StrEnum):
    ALLOW = "SCMP_ACT_ALLOW"
    ERRNO = "SCMP_ACT_ERRNO"
    KILL = "SCMP_ACT_KILL"
    KILL_THREAD = "SCMP_ACT_KILL_THREAD"
    KILL_PROCESS = "SCMP_ACT_KILL_PROCESS"
    TRAP = "SCMP_ACT_TRAP"
    TRACE = "SCMP_ACT_TRACE"
    LOG = "SCMP_ACT_LOG"
    NOTIFY = "SCMP_ACT_NOTIFY"


class Op(enum.StrEnum):
    NE = "SCMP_CMP_NE"
    LT = "SCMP_CMP_LT"
    LE = "SCMP_CMP_LE"
    EQ = "SCMP_CMP_EQ"
    GE = "SCMP_CMP_GE"
    GT = "SCMP_CMP_GT"
    MASKED_EQ = "SCMP_CMP_MASKED_EQ"


U64 = (1 << 64) - 1


@dataclass(frozen=True, order=True)
class ArgCond:
    """One comparison on a syscall argument (``index`` 0-5)."""

    index: int
    op: Op
    value: int
    value_two: int = 0

    def matches(self, arg: int) -> bool:
        """Whether a 64-bit argument value satisfies this comparison (libseccomp semantics)."""
        arg &= U64
        match self.op:
            case Op.NE:
                return arg != self.value
            case Op.LT:
                return arg < self.value
            case Op.LE:
                return arg <= self.value
            case Op.EQ:
                return arg == self.value
            case Op.GE:
                return arg >= self.value
            case Op.GT:
                return arg > self.value
            case Op.MASKED_EQ:
                return (arg & self.value) == self.value_two


@dataclass(frozen=True)
class Decision:
    """What the filter does with one call: an action and, for ERRNO/TRACE, its data."""

    action: Action
    data: int = 0

    def __str__(self) -> str:
        if self.action in (Action.ERRNO, Action.TRACE):
            return f"{self.action.name}({self.data})"
        return self.action.name


@dataclass(frozen=True)
class Condition:
    """A Docker ``includes``/``excludes`` block: capabilities and native architectures."""

    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: str = ""

    def is_empty(self) -> bool:
        return not (self.caps or self.arches or self.min_kernel)


@dataclass(frozen=True)
class SyscallRule:
    """One entry of the profile's ``syscalls`` list."""

    names: tuple[str, ...]
    action: Action
    args: tuple[ArgCond, ...] = ()
    errno: int | None = None
    comment: str = ""
    includes: Condition = field(default_factory=Condition)
    excludes: Condition = field(default_factory=Condition)

    def decision(self, default_errno: int) -> Decision:
        if self.action is Action.ERRNO:
            return Decision(self.action, self.errno if self.errno is not None else default_errno)
        if self.action is Action.TRACE:
            return Decision(self.action, self.errno or 0)
        return Decision(self.action)

    def applies(self, native: Arch, caps: frozenset[str]) -> bool:
        """Whether Docker would keep this rule for a container of ``native`` arch with ``caps``."""
        inc, exc = self.includes, self.excludes
        if inc.arches and native.scmp_name not in _scmp_aliases(inc.arches):
            return False
        if inc.caps and not all(_cap(c) in caps for c in inc.caps):
            return False
        if exc.arches and native.scmp_name in _scmp_aliases(exc.arches):
            return False
        return not (exc.caps and any(_cap(c) in caps for c in exc.caps))

    def condition_groups(self) -> Iterator[tuple[ArgCond, ...]]:
        """The alternative condition sets of this rule, as runc compiles it.

        Conditions on distinct argument indices are ANDed in one libseccomp rule;
        runc splits conditions that repeat an index into separate (ORed) rules.
        """
        if not self.args:
            yield ()
            return
        indices = [c.index for c in self.args]
        if len(set(indices)) == len(indices):
            yield self.args
            return
        for cond in self.args:
            yield (cond,)


@dataclass(frozen=True)
class ArchGroup:
    native: Arch
    subs: tuple[Arch, ...]


@dataclass(frozen=True)
class Profile:
    """A whole seccomp profile."""

    default_action: Action
    arch_map: tuple[ArchGroup, ...]
    rules: tuple[SyscallRule, ...]
    default_errno: int = EPERM
    unknown_arches: tuple[str, ...] = ()  # SCMP_ARCH_* names harden does not model (kept)

    def default_decision(self) -> Decision:
        if self.default_action is Action.ERRNO:
            return Decision(Action.ERRNO, self.default_errno)
        return Decision(self.default_action)

    def arches(self) -> tuple[Arch, ...]:
        out: list[Arch] = []
        for group in self.arch_map:
            out.append(group.native)
            out.extend(group.subs)
        return tuple(out)

    def group_for(self, arch: Arch) -> ArchGroup | None:
        for group in self.arch_map:
            if arch is group.native or arch in group.subs:
                return group
        return None


_ARCH_ALIASES = {
    "amd64": "SCMP_ARCH_X86_64",
    "x86_64": "SCMP_ARCH_X86_64",
    "arm64": "SCMP_ARCH_AARCH64",
    "aarch64": "SCMP_ARCH_AARCH64",
}


def _scmp_aliases(arches: tuple[str, ...]) -> set[str]:
    return {_ARCH_ALIASES.get(a, a) for a in arches}


def _cap(name: str) -> str:
    return name.upper().removeprefix("CAP_")
