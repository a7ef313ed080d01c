"""Reading seccomp audit records (type=1326) from the kernel log, from a point onwards.

A profile with a LOG action makes the kernel write one record per logged syscall.
Without auditd the kernel rate-limits them through printk; :func:`unlimited_printk`
lifts the limit for the duration of a measurement and restores it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harden.errors import PermissionProblem

_RECORD = re.compile(
    r"type=1326 .*?\bpid=(?P<pid>\d+) comm=(?P<comm>\"[^\"]*\"|\S+) .*?"
    r"\barch=(?P<arch>[0-9a-f]+) syscall=(?P<nr>\d+)"
)
_RATELIMIT = Path("/proc/sys/kernel/printk_ratelimit")
# What the kernel prints when it drops records: audit's own count, or printk's.
_LOST = re.compile(r"audit_lost=(?P<lost>\d+)|audit: (?P<suppressed>\d+) callbacks suppressed")


@dataclass(frozen=True)
class SeccompRecord:
    pid: int
    comm: str
    arch: int
    nr: int


class KernelLog:
    """A reader of /dev/kmsg, positioned at its end when opened (or at the oldest record
    the ring buffer still holds, with ``from_start``)."""

    def __init__(self, *, from_start: bool = False) -> None:
        try:
            self._fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        except PermissionError:
            raise PermissionProblem("reading the kernel log (/dev/kmsg) needs root") from None
        if not from_start:
            os.lseek(self._fd, 0, os.SEEK_END)
        self.dropped = 0  # records the kernel said it dropped (rate limits, backlog)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> KernelLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def records(self) -> Iterator[SeccompRecord]:
        """Seccomp records written since the log was opened or last read."""
        while True:
            try:
                raw = os.read(self._fd, 8192)
            except BlockingIOError:
                return
            except BrokenPipeError:  # overwritten records; keep reading what follows
                continue
            if not raw:
                return
            text = raw.decode("utf-8", "replace")
            lost = _LOST.search(text)
            if lost:
                self.dropped += int(lost["suppressed"] or 0) or 1
            match = _RECORD.search(text)
            if match:
                yield SeccompRecord(
                    int(match["pid"]),
                    match["comm"].strip('"'),
                    int(match["arch"], 16),
                    int(match["nr"]),
                )


@contextlib.contextmanager
def unlimited_printk() -> Iterator[None]:
    """Disable printk rate limiting (so every audit record is logged), then restore it."""
    try:
        before = _RATELIMIT.read_text()
        _RATELIMIT.write_text("0\n")
    except PermissionError:
        raise PermissionProblem("changing kernel.printk_ratelimit needs root") from None
    try:
        yield
    finally:
        _RATELIMIT.write_text(before)
