"""Compiling CIL modules with ``secilc`` together with the converted base policy.

This is a real compile: every name must resolve against the base, every neverallow of
the base is checked, and a binary policy is produced (then discarded). Where no policy
is loaded (as on harden's test machine) this is the whole check; a policy is never
loaded into the kernel by harden. One compile takes harden's blocks, the workload's
module and the policy of SPO's RawSelinuxProfile, wrapped in a block as SPO wraps it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from harden.layers.interface import Checked, Verdict, judge
from harden.layers.selinux.base import SelinuxBase
from harden.layers.selinux.build import SelinuxHost
from harden.layers.selinux.expand import SPO_RAW_FILE
from harden.layers.selinux.render import BLOCKS_FILE
from harden.system import tools
from harden.system.tools import ToolVerdict

CHECKER = "secilc"
SPO_CHECK_PREFIX = "spo-check-"


def check_cil(modules: Mapping[str, str], base: SelinuxBase) -> ToolVerdict:
    """Compile ``modules`` (file name -> CIL text) with every module of ``base``."""
    with tempfile.TemporaryDirectory(prefix="harden-cil-") as tmp:
        paths = []
        for name, text in modules.items():
            path = Path(tmp) / name
            path.write_text(text)
            paths.append(str(path))
        policy = Path(tmp) / "policy.bin"
        verdict = tools.check(
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


def raw_policy(files: Mapping[str, bytes]) -> str | None:
    """``spec.policy`` of the RawSelinuxProfile file, if there is one."""
    raw = files.get(SPO_RAW_FILE)
    if raw is None:
        return None
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError:
        return None  # the schema check of the SPO documents reports the file
    policy = doc.get("spec", {}).get("policy") if isinstance(doc, dict) else None
    return policy if isinstance(policy, str) else None


def selinux_sources(files: Mapping[str, bytes], module_file: str) -> dict[str, str]:
    """The CIL texts one secilc run compiles: the blocks, the module, and the
    RawSelinuxProfile's policy wrapped in a block the way SPO wraps it."""
    sources = {
        BLOCKS_FILE: files[BLOCKS_FILE].decode(errors="replace"),
        module_file: files[module_file].decode(errors="replace"),
    }
    policy = raw_policy(files)
    if policy is not None:
        name = f"{SPO_CHECK_PREFIX}{module_file.removesuffix('.cil')}"
        sources[f"{name}.cil"] = f"(block {name}\n{policy}\n)\n"
    return sources


def check(files: Mapping[str, bytes], host: SelinuxHost) -> list[Checked]:
    """Every workload module of the files, each compiled with the blocks and the base."""
    out = []
    for module in sorted(n for n in files if n.endswith(".cil") and n != BLOCKS_FILE):
        if BLOCKS_FILE not in files:
            out.append(Checked(module, CHECKER, Verdict.FAILED, f"{BLOCKS_FILE} is missing"))
            continue

        def compile_module(module: str = module) -> Checked:
            verdict = check_cil(selinux_sources(files, module), host.selinux_base())
            return Checked.of(module, verdict)

        out.append(judge(module, CHECKER, compile_module))
    return out
