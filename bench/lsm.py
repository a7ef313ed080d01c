"""AppArmor, SELinux and user namespaces (issue 3): full --all bundles, the external
checkers timed on their own, and the user-namespace planner for 10,000 tenants."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harden.layers.selinux.base import SelinuxBase

ROOT = Path(__file__).resolve().parents[1]


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _row(label: str, value: str) -> None:
    print(f"  {label:<58} {value}")


def _spec(path: Path, base: SelinuxBase) -> None:
    """One example spec: the whole --all run, then each part of it on its own."""
    from harden.generate.bundle import build_bundle
    from harden.generate.files import build_layers, bundle_files
    from harden.layers.apparmor.check import check_apparmor
    from harden.layers.apparmor.render import APPARMOR_FILE
    from harden.layers.registry import Host
    from harden.layers.seccomp.check import check_seccomp
    from harden.layers.selinux.check import check_cil, selinux_sources
    from harden.layers.selinux.model import CilModule
    from harden.profile.loader import load_spec

    spec = load_spec(path).spec
    whole = _best(partial(build_bundle, spec, all_layers=True, selinux_base=base), 2)

    def build() -> dict[str, bytes]:
        return bundle_files(build_layers(spec, Host(lambda: base), all_layers=True))

    builders = _best(build, 5)
    built = build_layers(spec, Host(lambda: base), all_layers=True)
    files = bundle_files(built)
    seccomp = _best(partial(check_seccomp, built.seccomp, frozenset(built.caps.keep)), 3)
    aa = _best(partial(check_apparmor, files[APPARMOR_FILE].decode()), 5)
    sources = selinux_sources(files, built.need("selinux", CilModule).file_name)
    cil = _best(partial(check_cil, sources, base), 2)
    _row(f"{path.stem}: generate --all (build + every check)", f"{whole:.2f} s")
    _row("  builders (pure: AppArmor, SELinux, userns, forms, SPO)", f"{builders * 1000:.0f} ms")
    _row("  seccomp: libseccomp compile + simulation", f"{seccomp * 1000:.0f} ms")
    _row("  external: apparmor_parser -Q -S", f"{aa * 1000:.0f} ms")
    _row("  external: secilc with the 331-module base", f"{cil:.2f} s")


def main() -> None:
    from harden.layers.selinux.base import convert_base, load_base
    from harden.layers.userns.build import plan, tenants_named
    from harden.layers.userns.parse import parse_pool

    print("\n## AppArmor, SELinux, user namespaces (issue 3)")
    with tempfile.TemporaryDirectory() as cold:
        start = time.perf_counter()
        convert_base(Path(cold))
        _row(
            "SELinux base: convert 331 refpolicy modules to CIL (once)",
            f"{time.perf_counter() - start:.1f} s",
        )
    base = load_base()
    start = time.perf_counter()
    convert_base()
    _row("SELinux base: load from the cache", f"{(time.perf_counter() - start) * 1000:.0f} ms")

    specs = [*sorted((ROOT / "profiles" / "workloads").glob("*.yaml")),
             ROOT / "tests" / "data" / "specs" / "good" / "every-field.yaml"]  # fmt: skip
    for path in specs:
        _spec(path, base)

    pool = parse_pool("pool:100000:1000000000\n", "bench pool")
    tenants = tenants_named("t-", 10_000)
    took = _best(lambda: plan(pool, tenants), 5)
    _row("userns plan: 10,000 tenants x 65536 IDs", f"{took * 1000:.0f} ms")
    mixed = tenants_named("m-", 10_000, 4096)
    took = _best(lambda: plan(pool, mixed), 5)
    _row("userns plan: 10,000 tenants x 4096 IDs", f"{took * 1000:.0f} ms")
    sys.stdout.flush()
