"""Checking an AppArmor profile with ``apparmor_parser``: parse, resolve and compile.

``apparmor_parser -Q -S -K`` does everything but loading into the kernel: syntax,
rule semantics, the ABI named in the profile, and compiling the binary policy (written
to stdout, counted, discarded). This is the whole check where the kernel has no
AppArmor; enforcement itself cannot be tested there.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from harden.layers.apparmor.render import APPARMOR_FILE
from harden.layers.interface import Checked, judge
from harden.system import tools
from harden.system.tools import ToolVerdict

_NOISE = ("Cache read/write disabled", "Kernel needs AppArmor")


def check_apparmor(text: str, name: str = "profile") -> ToolVerdict:
    """Compile profile ``text`` with apparmor_parser (no kernel load, no cache)."""
    with tempfile.TemporaryDirectory(prefix="harden-aa-") as tmp:
        path = Path(tmp) / name
        path.write_text(text)
        verdict = tools.check(["apparmor_parser", "-Q", "-S", "-K", str(path)], noise=_NOISE)
    if not verdict.ok:
        return verdict
    size = len(verdict.output)
    detail = f"compiled to {size} bytes of binary policy (not loaded: validation only)"
    return ToolVerdict(verdict.tool, True, detail, verdict.seconds)


def check(files: Mapping[str, bytes], host: object) -> list[Checked]:
    if APPARMOR_FILE not in files:
        return []
    text = files[APPARMOR_FILE].decode(errors="replace")

    def compile_profile() -> Checked:
        return Checked.of(APPARMOR_FILE, check_apparmor(text, APPARMOR_FILE))

    return [judge(APPARMOR_FILE, "apparmor_parser", compile_profile)]
