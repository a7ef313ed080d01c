"""Which recorder backend runs: eBPF when the kernel and tools allow it, else strace.

``auto`` (the default) takes eBPF and falls back to strace with the reason, which the
recording keeps and the CLI shows; ``ebpf`` refuses to fall back; ``strace`` is the
ptrace recorder (slow, but it sees the exact arguments of every call).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from harden.errors import ToolMissing


class Backend(enum.StrEnum):
    AUTO = "auto"
    EBPF = "ebpf"
    STRACE = "strace"


@dataclass(frozen=True)
class Choice:
    backend: Backend  # EBPF or STRACE
    reason: str  # why strace, when auto fell back ("" otherwise)


def choose(wanted: Backend, cgroup: int | None, *, target: str) -> Choice:
    """The backend for a target whose cgroup v2 id is ``cgroup`` (None: it has none)."""
    if wanted is Backend.STRACE:
        return Choice(Backend.STRACE, "")
    from harden.system.bpf import unavailable  # noqa: PLC0415

    problem = unavailable()
    if problem is None and cgroup is None:
        problem = f"{target} has no cgroup of its own in the cgroup v2 hierarchy"
    if problem is None:
        return Choice(Backend.EBPF, "")
    if wanted is Backend.EBPF:
        raise ToolMissing(
            f"the eBPF recorder cannot run: {problem}",
            hint="use --backend strace (or auto, which falls back to it)",
        )
    return Choice(Backend.STRACE, f"eBPF recorder unavailable ({problem}): recorded with strace")
