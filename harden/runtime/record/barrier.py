"""A start barrier: hold a new container's first process until strace is attached.

A recording attached to a container that is already running misses its start-up
(binding ports, dropping privileges, creating directories): exactly the calls a
profile most needs. So ``harden record --image`` starts the container with a static
busybox shell mounted read-only at ``/.harden`` as its entrypoint. The shell resolves
the command on the image's PATH, then blocks opening a FIFO; harden attaches strace,
opens the FIFO, and the shell ``exec``\\ s the real command, traced from its first
instruction. Calls made before that ``execve`` are not part of the workload.
"""

from __future__ import annotations

import errno
import os
import shutil
import struct
import time
from pathlib import Path

from harden.errors import PermissionProblem, ToolMissing

MOUNT = "/.harden"
SHELL = f"{MOUNT}/sh"
FIFO = "go"
# $1 is the command; a name without a slash is looked up on PATH here, because a
# static busybox shell would otherwise run its own applet of the same name (ls, sh, ...).
SCRIPT = (
    "c=$1; shift; case $c in */*) ;; *) IFS=:; for d in $PATH; do "
    'if [ -x "$d/$c" ]; then c=$d/$c; break; fi; done; unset IFS;; esac; '
    f'read _ < {MOUNT}/{FIFO}; exec "$c" "$@"'
)
_PT_INTERP = 3


def _is_static(path: Path) -> bool:
    """Whether an ELF executable has no program interpreter (needs no shared libraries)."""
    with path.open("rb") as handle:
        header = handle.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit ELF only
            return False
        order = "<" if header[5] == 1 else ">"
        phoff = struct.unpack_from(order + "Q", header, 32)[0]
        phentsize, phnum = struct.unpack_from(order + "HH", header, 54)
        handle.seek(phoff)
        table = handle.read(phentsize * phnum)
    return all(
        struct.unpack_from(order + "I", table, i * phentsize)[0] != _PT_INTERP for i in range(phnum)
    )


def static_busybox() -> Path:
    found = shutil.which("busybox")
    if found is None or not _is_static(Path(found)):
        raise ToolMissing(
            "recording a new container needs a static busybox on the host "
            "(it holds the container's first process until strace is attached)",
            hint="install busybox-static (Debian/Ubuntu: apt-get install busybox-static), "
            "or start the container yourself and use --container NAME",
        )
    return Path(found)


def prepare(work: Path) -> Path:
    """A directory to mount at /.harden: the shell and the FIFO."""
    folder = work / "barrier"
    folder.mkdir(mode=0o755)
    shutil.copy2(static_busybox(), folder / "sh")
    (folder / "sh").chmod(0o755)
    os.mkfifo(folder / FIFO, 0o644)
    return folder


def release(folder: Path, timeout: float = 10.0) -> None:
    """Let the held process go on (it is blocked opening the FIFO for reading)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(folder / FIFO, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO and time.monotonic() < deadline:
                time.sleep(0.02)  # the reader has not opened it yet
                continue
            if exc.errno == errno.EACCES:
                raise PermissionProblem(f"cannot open {folder / FIFO}: permission denied") from None
            raise PermissionProblem(
                f"the container never reached the start barrier ({exc.strerror})",
                hint="the image must allow running a mounted static binary (no noexec on /)",
            ) from None
        try:
            os.write(fd, b"\n")
        finally:
            os.close(fd)
        return
