"""System call tables per architecture, read from libseccomp (the table runc compiles with).

An :class:`Arch` is one ABI a filter can see: x86_64 with its x86 (i386) and x32
sub-ABIs, aarch64 with its 32-bit arm sub-ABI. libseccomp is imported lazily.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from types import ModuleType

from harden.errors import ToolMissing

X32_SYSCALL_BIT = 0x40000000


class Arch(enum.StrEnum):
    """The ABIs harden generates and checks filters for."""

    X86_64 = "x86_64"
    X86 = "x86"
    X32 = "x32"
    AARCH64 = "aarch64"
    ARM = "arm"

    @property
    def scmp_name(self) -> str:
        """The name in OCI/Docker seccomp profiles, e.g. ``SCMP_ARCH_X86_64``."""
        return _SCMP_NAMES[self]

    @property
    def audit_arch(self) -> int:
        """The value the kernel puts in ``seccomp_data.arch`` for this ABI."""
        return _AUDIT_ARCH[self]

    @property
    def native(self) -> Arch:
        """The 64-bit ABI whose filter also covers this one."""
        return _NATIVE_OF[self]

    @classmethod
    def from_scmp(cls, name: str) -> Arch | None:
        return _FROM_SCMP.get(name)


_SCMP_NAMES = {
    Arch.X86_64: "SCMP_ARCH_X86_64",
    Arch.X86: "SCMP_ARCH_X86",
    Arch.X32: "SCMP_ARCH_X32",
    Arch.AARCH64: "SCMP_ARCH_AARCH64",
    Arch.ARM: "SCMP_ARCH_ARM",
}
_FROM_SCMP = {v: k for k, v in _SCMP_NAMES.items()}
_AUDIT_ARCH = {
    Arch.X86_64: 0xC000003E,
    Arch.X86: 0x40000003,
    Arch.X32: 0xC000003E,  # x32 shares the x86_64 token; the syscall number carries bit 30
    Arch.AARCH64: 0xC00000B7,
    Arch.ARM: 0x40000028,
}
_NATIVE_OF = {
    Arch.X86_64: Arch.X86_64,
    Arch.X86: Arch.X86_64,
    Arch.X32: Arch.X86_64,
    Arch.AARCH64: Arch.AARCH64,
    Arch.ARM: Arch.AARCH64,
}

NATIVE_ARCHES: tuple[Arch, ...] = (Arch.X86_64, Arch.AARCH64)
SUB_ARCHES: Mapping[Arch, tuple[Arch, ...]] = {
    Arch.X86_64: (Arch.X86, Arch.X32),
    Arch.AARCH64: (Arch.ARM,),
}

# Syscall numbers to probe per ABI: the regular range, plus ARM's private syscalls.
_PROBE_LIMIT = 1024
_ARM_PRIVATE = range(0x0F0000, 0x0F0010)


def seccomp_module() -> ModuleType:
    """The pyseccomp module (libseccomp through ctypes), or a clear error."""
    try:
        import pyseccomp  # noqa: PLC0415 - loads a shared library
    except (ImportError, RuntimeError, OSError) as exc:
        raise ToolMissing(
            f"libseccomp is not usable: {exc}",
            hint="install libseccomp2 (Debian: apt-get install libseccomp2) and pyseccomp",
        ) from None
    module: ModuleType = pyseccomp
    return module


def scmp_token(arch: Arch) -> int:
    """libseccomp's architecture token for ``arch``."""
    mod = seccomp_module()
    return int(getattr(mod.Arch, arch.name))


@functools.cache
def table(arch: Arch) -> Mapping[int, str]:
    """Syscall number -> name for one ABI, as libseccomp knows it (x32 numbers carry bit 30)."""
    mod = seccomp_module()
    token = scmp_token(arch)
    numbers: list[int] = list(range(_PROBE_LIMIT))
    if arch is Arch.X32:
        numbers = [X32_SYSCALL_BIT + n for n in range(_PROBE_LIMIT)]
    elif arch is Arch.ARM:
        numbers += list(_ARM_PRIVATE)
    out: dict[int, str] = {}
    for nr in numbers:
        try:
            out[nr] = mod.resolve_syscall(token, nr).decode()
        except ValueError:
            continue
    return out


@functools.cache
def names(arch: Arch) -> frozenset[str]:
    """Every syscall name that exists on ``arch``."""
    return frozenset(table(arch).values())


@functools.cache
def number(arch: Arch, name: str) -> int | None:
    """The syscall number of ``name`` on ``arch``, or None when the ABI lacks it."""
    for nr, candidate in table(arch).items():
        if candidate == name:
            return nr
    return None


def known_anywhere(name: str) -> bool:
    """Whether any supported ABI has a syscall of this name."""
    return any(name in names(arch) for arch in Arch)


def audited_syscall(audit_arch: int, nr: int) -> tuple[Arch, str] | None:
    """The ABI and syscall name of a kernel audit record's ``arch=`` token and
    ``syscall=`` number (None for an architecture harden does not know)."""
    by_token = {a.audit_arch: a for a in Arch if a is not Arch.X32}
    found = by_token.get(audit_arch)
    if found is None:
        return None
    arch: Arch = found
    if arch is Arch.X86_64 and nr & X32_SYSCALL_BIT:
        arch, nr = Arch.X32, nr & ~X32_SYSCALL_BIT
    return arch, table(arch).get(nr, f"syscall {nr} ({arch})")
