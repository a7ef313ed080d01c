"""Running strace: on a new command, or attached to running processes (``-p``).

Each tracer writes its own trace file; the recorder parses them all when tracing
ends, however it ends, so an interrupted or failed recording is not lost.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harden.errors import PermissionProblem
from harden.system import proc, tools

# -f: follow forks and threads; -qq: no attach/exit chatter; -y: paths of descriptors;
# --decode-pids=pidns: fork results as host pids; -s: short data; no signal lines.
STRACE_OPTIONS: tuple[str, ...] = (
    "-f", "-qq", "-y", "--decode-pids=pidns", "-s", "48", "-e", "signal=none",
)  # fmt: skip
_NO_PERMISSION = re.compile(r"ptrace\((?:PTRACE_\w+)[^)]*\): Operation not permitted|"
                            r"PTRACE_TRACEME doesn't work: Operation not permitted")  # fmt: skip


@dataclass(frozen=True)
class TracerResult:
    trace: Path
    returncode: int | None
    stderr: str


class Tracer:
    """One strace process writing ``trace`` (and its own messages to ``trace.err``)."""

    def __init__(self, trace: Path, argv: Sequence[str], *, foreground: bool = False) -> None:
        self.trace = trace
        self._err_path = trace.with_suffix(".err")
        self._err = self._err_path.open("wb")
        full = ["strace", *STRACE_OPTIONS, "-o", str(trace), *argv]
        try:
            self.process = tools.spawn(full, stderr=self._err, detached=not foreground)
        except BaseException:
            self._err.close()
            raise

    @classmethod
    def command(cls, trace: Path, command: Sequence[str]) -> Tracer:
        """Start ``command`` under strace (it keeps the terminal)."""
        return cls(trace, ["--", *command], foreground=True)

    @classmethod
    def attach(cls, trace: Path, pids: Sequence[int]) -> Tracer:
        """Attach to running processes (and everything they start)."""
        argv: list[str] = []
        for pid in pids:
            argv += ["-p", str(pid)]
        return cls(trace, argv)

    def running(self) -> bool:
        return self.process.running()

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        try:
            return self._err_path.read_text(errors="replace")
        except OSError:
            return ""

    def check_started(self, timeout: float = 2.0) -> None:
        """Fail clearly if strace could not trace (no ptrace permission, bad program)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stderr()
            if _NO_PERMISSION.search(text):
                self.stop()
                raise PermissionProblem(
                    f"strace may not trace the process: {_first_line(text)}",
                    hint="run as root (tracing another user's or a container's processes "
                    "needs CAP_SYS_PTRACE), and check kernel.yama.ptrace_scope",
                )
            if not self.running() or self.trace.exists():
                return
            time.sleep(0.02)

    def stop(self, grace: float = 5.0) -> None:
        """Detach (SIGINT makes strace detach and flush), killing it only as a last resort."""
        if self.running():
            self.process.signal(signal.SIGINT)
            if self.process.wait(grace) is None:
                self.process.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        return self.process.wait(timeout)

    def result(self) -> TracerResult:
        self._err.close()
        return TracerResult(self.trace, self.process.returncode, self.stderr())


def terminate_command(tracer: Tracer, grace: float = 5.0) -> None:
    """End a command started under strace: SIGTERM, then SIGKILL after ``grace``."""
    child = min(proc.children(tracer.process.pid), default=None)  # the command strace started
    if child is not None:
        _signal(child, signal.SIGTERM)
        if tracer.wait(grace) is not None:
            return
        _signal(child, signal.SIGKILL)
    tracer.stop(grace)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if "Operation not permitted" in line:
            return line.strip()
    return text.strip().splitlines()[0] if text.strip() else "permission denied"
