"""Compiling CIL modules with ``secilc`` together with the converted base policy.

This is a real compile: every name must resolve against the base, every neverallow of
the base is checked, and a binary policy is produced (then discarded). Where no policy
is loaded (as on harden's test machine) this is the whole check; a policy is never
loaded into the kernel by harden.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from harden.layers.selinux.base import SelinuxBase
from harden.system.tools import ToolVerdict, check


def check_cil(modules: Mapping[str, str], base: SelinuxBase) -> ToolVerdict:
    """Compile ``modules`` (file name -> CIL text) with every module of ``base``."""
    with tempfile.TemporaryDirectory(prefix="harden-cil-") as tmp:
        paths = []
        for name, text in modules.items():
            path = Path(tmp) / name
            path.write_text(text)
            paths.append(str(path))
        policy = Path(tmp) / "policy.bin"
        verdict = check(
            [
                "secilc",
                "-o",
                str(policy),
                "-f",
                str(Path(tmp) / "file_contexts"),
                *map(str, base.files),
                *paths,
            ]
        )
        size = policy.stat().st_size if policy.is_file() else 0
    if not verdict.ok:
        detail = verdict.detail.replace(tmp + "/", "")
        return ToolVerdict(verdict.tool, False, detail, verdict.seconds)
    detail = f"compiled with {len(base.files)} base modules into a {size // 1024} KiB policy"
    return ToolVerdict(verdict.tool, True, detail, verdict.seconds)
