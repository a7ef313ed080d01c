"""Checking a seccomp profile for real: libseccomp compiles it the way runc does, for
every architecture group, and every syscall number of every ABI is run through the
compiled BPF and compared with what the JSON says.

The compiled filters (``seccomp.<arch>.bpf`` and their ``.pfc`` pseudo-code) are
files of the bundle: a check of a bundle on disk also finds them stale when
seccomp.json was edited after they were compiled.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from harden.errors import CheckFailed, HardenError
from harden.layers.caps.parse import parse_capabilities
from harden.layers.caps.render import CAPS_FILE
from harden.layers.interface import Checked, Verdict, judge
from harden.layers.seccomp.compile import compile_profile
from harden.layers.seccomp.model import Profile
from harden.layers.seccomp.parse import parse_profile
from harden.layers.seccomp.render import SECCOMP_FILE
from harden.layers.seccomp.simulate import SimulationReport, simulate
from harden.system.yaml import parse_json

CHECKER = "libseccomp+simulation"


def check_seccomp(
    profile: Profile, caps: frozenset[str]
) -> tuple[dict[str, bytes], tuple[SimulationReport, ...]]:
    """Compile the profile for every arch group and prove the BPF matches the JSON."""
    files: dict[str, bytes] = {}
    reports = []
    for compiled in compile_profile(profile, caps):
        native = compiled.group.native.value
        report = simulate(profile, compiled, caps)
        if not report.ok:
            shown = [str(m) for m in report.mismatches[:10]] + list(report.ambiguous)
            more = len(report.mismatches) - 10
            raise CheckFailed(
                f"the compiled {native} filter does not do what seccomp.json says:\n  "
                + "\n  ".join(shown)
                + (f"\n  ... and {more} more" if more > 0 else ""),
                hint="this is a bug in the profile or in harden; nothing was written",
            )
        files[f"seccomp.{native}.bpf"] = compiled.bpf
        files[f"seccomp.{native}.pfc"] = compiled.pfc.encode()
        reports.append(report)
    return files, tuple(reports)


def _caps(files: Mapping[str, bytes]) -> frozenset[str]:
    """The whitelist the rules' includes/excludes see (none when capabilities.json is
    missing or unreadable: the capability check reports that file)."""
    try:
        return frozenset(parse_capabilities(parse_json(files[CAPS_FILE], CAPS_FILE), CAPS_FILE)[0])
    except (KeyError, ValueError, HardenError):
        return frozenset()


def _check(files: Mapping[str, bytes]) -> Checked:
    start = time.perf_counter()
    if SECCOMP_FILE not in files:
        raise HardenError(f"{SECCOMP_FILE} is missing")
    profile = parse_profile(files[SECCOMP_FILE].decode(errors="replace"), SECCOMP_FILE)
    compiled, reports = check_seccomp(profile, _caps(files))
    stale = [name for name, data in sorted(compiled.items()) if files.get(name, data) != data]
    if stale:
        raise HardenError(
            f"{', '.join(stale)} differ from what seccomp.json compiles to; regenerate"
        )
    arches = ", ".join(r.native.value for r in reports)
    cases = {r.native.value: r.cases for r in reports}
    detail = f"compiled for {arches}; {sum(cases.values())} calls simulated, all agree"
    seconds = time.perf_counter() - start
    record = {"simulated_calls": cases}
    return Checked(SECCOMP_FILE, CHECKER, Verdict.OK, detail, seconds, compiled, record)


def check(files: Mapping[str, bytes], host: object) -> list[Checked]:
    return [judge(SECCOMP_FILE, CHECKER, lambda: _check(files))]
