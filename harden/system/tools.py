"""Every program harden runs: the one place that starts subprocesses.

:func:`run` runs a program to its end (or its timeout), :func:`spawn` starts a
long-running one beside harden (strace), and :func:`check` turns a checker's run
(apparmor_parser, secilc) into a :class:`ToolVerdict`. A program that is not installed
is :class:`ToolMissing` (exit 4) naming the Debian package that provides it; what a
program that ran says is data for the caller, never an exception.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harden.errors import ToolMissing

DEFAULT_TIMEOUT = 300.0

# program (its file name) -> the Debian package that provides it
PACKAGES: Mapping[str, str] = {
    "apparmor_parser": "apparmor",
    "crun": "crun",
    "dpkg-query": "dpkg",
    "nsenter": "util-linux",
    "pp": "policycoreutils",  # /usr/libexec/selinux/hll/pp
    "runc": "runc",
    "secilc": "secilc",
    "sh": "dash",
    "strace": "strace",
    "unshare": "util-linux",
}


def require(program: str) -> str:
    """The path of ``program`` (a name on PATH or a path), or :class:`ToolMissing`."""
    if "/" in program:
        found = program if Path(program).is_file() else None
    else:
        # sbin: where apparmor_parser lives, often not on a normal user's PATH
        found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if found is None:
        raise _missing(program, "is not installed")
    return found


def _missing(program: str, what: str) -> ToolMissing:
    name = Path(program).name
    package = PACKAGES.get(name)
    hint = f"install it (Debian: apt-get install {package})" if package else "install it"
    return ToolMissing(f"{name} {what}", hint=f"{hint}; `make test` does" if package else hint)


@dataclass(frozen=True)
class Completed:
    """A program that ran: its exit status (None: stopped at the timeout) and output."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def output(self) -> str:
        """stdout then stderr, as text."""
        return (self.stdout + self.stderr).decode(errors="replace")

    def problem(self) -> str:
        """Why it failed, for a person: its stderr, or how it ended."""
        if self.returncode is None:
            return f"did not finish in {self.seconds:.0f} s"
        return self.stderr.decode(errors="replace").strip() or f"exit status {self.returncode}"


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    input: bytes | None = None,
    cwd: Path | None = None,
) -> Completed:
    """Run a program to its end, its output captured; killed after ``timeout`` seconds."""
    full = (require(argv[0]), *argv[1:])
    start = time.perf_counter()
    try:
        done = subprocess.run(
            full, input=input, capture_output=True, timeout=timeout, cwd=cwd, check=False
        )
    except subprocess.TimeoutExpired as exc:
        return Completed(full, None, exc.stdout or b"", exc.stderr or b"", timeout)
    except OSError as exc:
        raise _missing(argv[0], f"cannot be run: {exc.strerror or exc}") from None
    return Completed(full, done.returncode, done.stdout, done.stderr, time.perf_counter() - start)


class Spawned:
    """A program running beside harden; waiting on it never raises at a timeout."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    def running(self) -> bool:
        return self._popen.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        """Its exit status, or None if it still runs after ``timeout`` seconds."""
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig: signal.Signals) -> None:
        self._popen.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        self._popen.kill()
        self._popen.wait()


def spawn(argv: Sequence[str], *, stderr: IO[bytes], detached: bool) -> Spawned:
    """Start a long-running program, its stderr into ``stderr``. Detached: no terminal
    (stdin and stdout are /dev/null) and its own session; else it shares harden's."""
    full = [require(argv[0]), *argv[1:]]
    quiet = subprocess.DEVNULL if detached else None
    try:
        popen = subprocess.Popen(
            full, stdin=quiet, stdout=quiet, stderr=stderr, start_new_session=detached
        )
    except OSError as exc:
        raise _missing(argv[0], f"cannot be run: {exc.strerror or exc}") from None
    return Spawned(popen)


@dataclass(frozen=True)
class ToolVerdict:
    """What a checker said about one artefact."""

    tool: str
    ok: bool
    detail: str  # a one-line summary; the first error lines when not ok
    seconds: float
    output: bytes = b""


def check(
    argv: Sequence[str], *, noise: Sequence[str] = (), timeout: float = DEFAULT_TIMEOUT
) -> ToolVerdict:
    """Run a checker; its exit status decides, stderr (minus ``noise`` lines) explains."""
    tool = Path(argv[0]).name
    done = run(argv, timeout=timeout)
    if done.returncode is None:
        return ToolVerdict(tool, False, f"{tool} {done.problem()}", done.seconds)
    messages = [
        line.strip()
        for line in done.stderr.decode(errors="replace").splitlines()
        if line.strip() and not any(n in line for n in noise)
    ]
    if not done.ok:
        shown = "; ".join(messages[:6]) or f"exit status {done.returncode}"
        return ToolVerdict(tool, False, shown, done.seconds, done.stdout)
    return ToolVerdict(tool, True, "; ".join(messages[:3]), done.seconds, done.stdout)
