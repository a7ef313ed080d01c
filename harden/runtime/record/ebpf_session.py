"""One recording through the eBPF backend: the tracer, what it learns while the workload
runs (working directories), and the :class:`Recording` it ends with."""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field
from typing import Any

from harden.runtime.record.barrier import MOUNT
from harden.runtime.record.ebpf import EbpfTracer
from harden.runtime.record.ebpf_observe import describe
from harden.runtime.record.observe import Observations
from harden.runtime.record.recorder import (
    Recording,
    RecordOptions,
    exercise_problems,
    native_arch,
)
from harden.system import proc


@dataclass
class EbpfSession:
    """Same surface as the strace session where the container loops use it."""

    opts: RecordOptions
    cgroup: int
    problems: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tracer = EbpfTracer(self.opts.work, self.cgroup, native_arch())
        self.tracer.wait_attached()

    def follow(self, init_pid: int) -> None:
        """Learn the working directories and open directories of the workload's processes."""
        self.tracer.learn(proc.members(init_pid) or {init_pid})

    def finish(self, **facts: Any) -> Recording:
        result = self.tracer.result()
        obs = _without_barrier(result.observations)
        if not obs.calls:
            self.problems.append("no system call was recorded")
        if result.stderr.strip():
            self.notes.append(f"bpftrace said: {result.stderr.strip()[-300:]}")
        self.problems += exercise_problems(facts.get("exercise"))
        return Recording(
            observations=obs,
            arch=native_arch(),
            seconds=time.monotonic() - self.started,
            problems=tuple(self.problems),
            unparsed_lines=0,
            backend="ebpf",
            details=(*describe(result.extras), *self.notes),
            **facts,
        )


def _without_barrier(obs: Observations) -> Observations:
    """Drop what the start barrier's shell did (it reads its FIFO under /.harden)."""
    for facts in (obs.reads, obs.writes, obs.execs, obs.created_dirs):
        for path in [p for p in facts if p == MOUNT or p.startswith(MOUNT + "/")]:
            del facts[path]
    obs.execs.pop(posixpath.join(MOUNT, "sh"), None)
    return obs
