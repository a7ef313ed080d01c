"""Running the external checkers (apparmor_parser, secilc): one place for subprocess.

A checker's verdict is data (:class:`ToolVerdict`); only a missing tool is an error,
because then nothing can be said about the artefact at all.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from harden.errors import ToolMissing

DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class ToolVerdict:
    """What a checker said about one artefact."""

    tool: str
    ok: bool
    detail: str  # a one-line summary; the first error lines when not ok
    seconds: float
    output: bytes = b""


def require(tool: str, package: str) -> str:
    """The path of ``tool``, or :class:`ToolMissing` naming the Debian package."""
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin")
    if found is None:
        raise ToolMissing(
            f"{tool} is not installed; it is needed to check this artefact",
            hint=f"install it (Debian: apt-get install {package}); `make test` does",
        )
    return found


def run(
    argv: Sequence[str], *, tool: str, noise: Sequence[str] = (), timeout: float = DEFAULT_TIMEOUT
) -> ToolVerdict:
    """Run a checker; its exit status decides, stderr (minus ``noise`` lines) explains."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(list(argv), capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return ToolVerdict(tool, False, f"{tool} did not finish in {timeout:.0f} s", timeout)
    seconds = time.perf_counter() - start
    messages = [
        line.strip()
        for line in proc.stderr.decode(errors="replace").splitlines()
        if line.strip() and not any(n in line for n in noise)
    ]
    if proc.returncode != 0:
        shown = "; ".join(messages[:6]) or f"exit status {proc.returncode}"
        return ToolVerdict(tool, False, shown, seconds, proc.stdout)
    return ToolVerdict(tool, True, "; ".join(messages[:3]), seconds, proc.stdout)
