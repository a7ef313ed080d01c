"""The SELinux module model: what the builder decides, before any CIL text exists.

A workload module is one block: the harden blocks it inherits and the allow rules of
its own (ports, peers, capabilities, extra socket families), each with its reason.
:mod:`harden.layers.selinux.render` writes it as CIL.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Inherit:
    block: str
    reason: str


@dataclass(frozen=True)
class Allow:
    """``(allow process TARGET (CLASS (PERMS)))``; TARGET ``self`` is the domain itself."""

    target: str
    cls: str
    perms: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class CilModule:
    name: str  # the block, and the module name semodule installs it under
    description: str
    inherits: tuple[Inherit, ...]
    allows: tuple[Allow, ...]
    notes: tuple[str, ...] = ()
    base: str = ""  # the base policy it was built for (named in the module's header)

    @property
    def process_type(self) -> str:
        return f"{self.name}.process"

    @property
    def file_type(self) -> str:
        return f"{self.name}.content"

    @property
    def file_name(self) -> str:
        return f"{self.name}.cil"
