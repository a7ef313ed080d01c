"""Bundle generation speed, CLI cold start, and how tight the example profiles are."""

from __future__ import annotations

import sys
import tempfile

from bench.common import ROOT, VENV_BIN, best_of, header, median_of, row, run_cmd


def main() -> None:
    from harden.generate.bundle import build_bundle
    from harden.kernel.capabilities import DOCKER_DEFAULT
    from harden.kernel.syscalls import Arch
    from harden.layers.seccomp.build import allowed_names, build_profile
    from harden.layers.seccomp.builtin import resolve
    from harden.layers.seccomp.compile import compile_profile
    from harden.profile.loader import load_spec

    header("generate (issue 2)")
    spec = load_spec(ROOT / "profiles" / "workloads" / "web.yaml").spec
    build_bundle(spec)  # warm the caches (syscall tables, sets) as a long-lived process would
    whole = best_of(lambda: build_bundle(spec), 5)
    compile_only = best_of(lambda: compile_profile(build_profile(spec), frozenset()), 5)
    row("web bundle: build + compile + simulate, 2 arch groups", f"{whole * 1000:.0f} ms")
    row("  of which building + compiling (libseccomp)", f"{compile_only * 1000:.0f} ms")
    row("  simulation share", f"{(whole - compile_only) / whole:.0%}")

    with tempfile.TemporaryDirectory() as tmp:
        web = str(ROOT / "profiles" / "workloads" / "web.yaml")
        process = median_of(
            lambda: run_cmd([str(VENV_BIN / "harden"), "generate", web, "-o", f"{tmp}/b", "-q"]), 5
        )
    row("harden generate web.yaml (whole process, cold)", f"{process * 1000:.0f} ms")

    python = sys.executable
    baseline = median_of(lambda: run_cmd([python, "-c", "pass"]), 7)
    version = median_of(lambda: run_cmd([str(VENV_BIN / "harden"), "--version"]), 7)
    row("python3 -c pass (baseline)", f"{baseline * 1000:.0f} ms")
    row(
        "harden --version cold start",
        f"{version * 1000:.0f} ms ({version / baseline:.1f}x the bare interpreter)",
    )

    header("allowed x86_64 syscalls: example specs vs the engine default")
    label, default = resolve("docker-default")
    base = len(allowed_names(default, Arch.X86_64, DOCKER_DEFAULT))
    row(f"engine default ({label.split(' ')[0]}, default caps)", f"{base}")
    for path in sorted((ROOT / "profiles" / "workloads").glob("*.yaml")):
        profile = build_profile(load_spec(path).spec)
        n = len(allowed_names(profile, Arch.X86_64))
        row(f"{path.stem}", f"{n} ({n / base:.0%} of the default)")
