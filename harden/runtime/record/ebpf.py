"""The eBPF recorder backend: bpftrace aggregating a cgroup's activity in the kernel.

Why bpftrace (Debian's package) and not a libbpf Python binding or BCC: BCC compiles C
against kernel headers, which this kind of host does not have; the Python libbpf
bindings on PyPI are young single-maintainer projects and would still need clang and a
generated vmlinux.h to build the program. bpftrace is maintained by the iovisor
project, packaged by the distributions, compiles its programs against the kernel's BTF
at run time and aggregates in kernel maps: what harden needs, and nothing to build.

Only tracepoints are used (no kprobes: many kernels, this one included, are built
without them): raw syscall entry and exit, ``capability:cap_capable`` (Linux 6.14+;
which capability was checked and whether it was granted), TCP state changes (listen
ports) and ``sched_process_exec``. Every probe is filtered by the target's cgroup v2
id in the kernel, so other containers cost one comparison per call.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from harden.errors import PermissionProblem
from harden.kernel.syscalls import Arch
from harden.runtime.record.ebpf_observe import Extras, Maps, observations
from harden.runtime.record.ebpf_program import MAX_KEYS, READY, STRLEN, Program, build
from harden.runtime.record.observe import Observations
from harden.system import bpf, proc, tools

_NOISE = ("couldn't set RLIMIT_MEMLOCK",)  # harmless: the kernel accounts BPF memory by cgroup
_ATTACH_TIMEOUT = 60.0  # compiling takes 3-5 s here, far more on a loaded host


@dataclass
class DirMap:
    """Directory inode -> path, learnt from the workload's working directories and open
    directory descriptors while it runs (relative paths are resolved with it)."""

    dirs: dict[int, str] = field(default_factory=dict)

    def learn(self, pids: set[int]) -> None:
        for pid in pids:
            for inode, path in proc.directories(pid):
                self.dirs.setdefault(inode, path)


@dataclass(frozen=True)
class EbpfResult:
    observations: Observations
    extras: Extras
    stderr: str


class EbpfTracer:
    """One bpftrace process recording one cgroup until :meth:`stop`."""

    def __init__(self, work: Path, cgroup: int, arch: Arch) -> None:
        self.program: Program = build(
            arch, capabilities=bpf.CAP_TRACEPOINT.is_dir(), exit_points=bpf.exit_points()
        )
        self.dirs = DirMap()
        source = work / "record.bt"
        source.write_text(self.program.text)
        self._out_path = work / "ebpf.json"
        self._err_path = work / "ebpf.err"
        tools.require("bpftrace")  # a missing one is named with its package
        self._out_path.unlink(missing_ok=True)  # never read an earlier run's output
        settings = [f"BPFTRACE_STRLEN={STRLEN}", f"BPFTRACE_MAP_KEYS_MAX={MAX_KEYS}"]
        argv = ["env", *settings, "bpftrace", "-f", "json", "-o", str(self._out_path),
                str(source), str(cgroup)]  # fmt: skip
        with self._err_path.open("wb") as err:
            self.proc = tools.spawn(argv, stderr=err, detached=True)

    def wait_attached(self) -> None:
        """Block until every probe is attached: bpftrace says "attached_probes" before it
        attaches them; the program's BEGIN probe runs after."""
        deadline = time.monotonic() + _ATTACH_TIMEOUT
        while time.monotonic() < deadline:
            if READY in self._read(self._out_path):
                return
            if not self.proc.running():
                break
            time.sleep(0.05)
        self.stop()
        raise PermissionProblem(f"bpftrace could not start the recorder: {self.stderr()[-500:]}")

    def running(self) -> bool:
        return self.proc.running()

    def learn(self, pids: set[int]) -> None:
        self.dirs.learn(pids)

    def stop(self, grace: float = 30.0) -> None:
        """SIGINT: bpftrace prints every map and exits."""
        if self.proc.running():
            self.proc.signal(signal.SIGINT)
            if self.proc.wait(grace) is None:
                self.proc.kill()

    def stderr(self) -> str:
        lines = self._read(self._err_path).splitlines()
        return "\n".join(line for line in lines if not any(n in line for n in _NOISE))

    def result(self) -> EbpfResult:
        self.stop()
        maps = Maps.parse(self._read(self._out_path).splitlines())
        obs, extras = observations(maps, self.program, self.dirs.dirs, MAX_KEYS)
        return EbpfResult(obs, extras, self.stderr())

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""
