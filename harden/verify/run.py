"""``harden verify``: every artefact of a bundle through its real checker, then the
layers against each other.

Works on hand-edited bundles: each file is read as it is on disk. A failure of one
artefact is a result, not an exception; a checker that is not installed is an
``error`` result (nothing can be said about that artefact).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harden.errors import ExitCode, HardenError, ToolMissing
from harden.generate.bundle import check_seccomp
from harden.generate.full import APPARMOR_FILE, BLOCKS_FILE, selinux_sources
from harden.generate.reader import capability_plan, modified_files, read_layers, read_manifest
from harden.layers.apparmor.check import check_apparmor
from harden.layers.caps.build import CapabilityPlan
from harden.layers.seccomp.jsonio import load_profile
from harden.layers.selinux.base import SelinuxBase, SelinuxFacts, load_base
from harden.layers.selinux.check import check_cil
from harden.profile.loader import load_spec
from harden.profile.spec import WorkloadSpec
from harden.system.tools import ToolVerdict
from harden.verify.crosslayer import Conflict, run_checks
from harden.verify.schema import DOCUMENTS, check_document

Progress = Callable[[str], None]


class Verdict(enum.Enum):
    OK = "ok"
    FAILED = "FAILED"
    ERROR = "error"


@dataclass(frozen=True)
class Result:
    artefact: str
    checker: str
    verdict: Verdict
    detail: str
    seconds: float = 0.0


@dataclass(frozen=True)
class VerifyReport:
    path: Path
    results: tuple[Result, ...]
    conflicts: tuple[Conflict, ...]
    modified: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> ExitCode:
        if self.conflicts or any(r.verdict is Verdict.FAILED for r in self.results):
            return ExitCode.FAILED
        if any(r.verdict is Verdict.ERROR for r in self.results):
            return ExitCode.ENVIRONMENT
        return ExitCode.OK


def _from_tool(artefact: str, tool: ToolVerdict) -> Result:
    verdict = Verdict.OK if tool.ok else Verdict.FAILED
    return Result(artefact, tool.tool, verdict, tool.detail, tool.seconds)


def _timed(artefact: str, checker: str, fn: Callable[[], str]) -> Result:
    start = time.perf_counter()
    try:
        detail = fn()
    except ToolMissing as exc:
        return Result(artefact, checker, Verdict.ERROR, exc.message)
    except HardenError as exc:
        return Result(artefact, checker, Verdict.FAILED, exc.message.replace("\n", " "))
    return Result(artefact, checker, Verdict.OK, detail, time.perf_counter() - start)


def _seccomp(path: Path, spec: WorkloadSpec | None) -> Iterator[Result]:
    caps: CapabilityPlan | None = None
    if spec is not None:
        caps = capability_plan(path, spec)
    keep = frozenset(caps.keep) if caps else frozenset()

    def run() -> str:
        profile = load_profile(path / "seccomp.json")
        compiled, reports = check_seccomp(profile, keep)
        stale = [
            name
            for name, data in sorted(compiled.items())
            if (path / name).is_file() and (path / name).read_bytes() != data
        ]
        if stale:
            raise HardenError(
                f"{', '.join(stale)} differ from what seccomp.json compiles to; regenerate"
            )
        arches = ", ".join(r.native.value for r in reports)
        return f"compiled for {arches}; {sum(r.cases for r in reports)} calls simulated, all agree"

    yield _timed("seccomp.json", "libseccomp+simulation", run)


def _selinux(path: Path, base: Callable[[], SelinuxBase]) -> Iterator[Result]:
    modules = [p.name for p in sorted(path.glob("*.cil")) if p.name != BLOCKS_FILE]
    for module in modules:
        if not (path / BLOCKS_FILE).is_file():
            yield Result(module, "secilc", Verdict.FAILED, f"{BLOCKS_FILE} is missing")
            continue
        try:
            loaded = base()
        except ToolMissing as exc:
            yield Result(module, "secilc", Verdict.ERROR, exc.message)
            continue
        files = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
        yield _from_tool(module, check_cil(selinux_sources(files, module), loaded))


def verify_bundle(
    path: Path,
    progress: Progress = lambda _m: None,
    *,
    selinux_base: Callable[[], SelinuxBase] = load_base,
) -> VerifyReport:
    """Check every artefact of the bundle at ``path`` and the layers together."""
    manifest = read_manifest(path)
    results: list[Result] = []
    spec_result = _timed(
        "spec.yaml", "spec loader", lambda: load_spec(path / "spec.yaml").spec.name
    )
    results.append(spec_result)
    spec = load_spec(path / "spec.yaml").spec if spec_result.verdict is Verdict.OK else None
    progress("compiling and simulating seccomp.json")
    results += _seccomp(path, spec)
    if (path / APPARMOR_FILE).is_file():
        progress("apparmor_parser")
        text = (path / APPARMOR_FILE).read_text(errors="replace")
        results.append(_timed(APPARMOR_FILE, "apparmor_parser", lambda: _ok(check_apparmor(text))))
    progress("secilc with the base policy")
    results += _selinux(path, selinux_base)
    facts = _facts_or_none(selinux_base) if any(path.glob("spo-selinux*.yaml")) else None
    for name in DOCUMENTS:
        if (path / name).is_file():
            problems = check_document(path / name, facts)
            verdict = Verdict.FAILED if problems else Verdict.OK
            detail = "; ".join(problems[:5]) or "conforms to the schema"
            results.append(Result(name, "schema", verdict, detail))
    conflicts = tuple(run_checks(read_layers(path)))
    return VerifyReport(path, tuple(results), conflicts, modified_files(path, manifest))


def _ok(verdict: ToolVerdict) -> str:
    if not verdict.ok:
        raise HardenError(verdict.detail)
    return verdict.detail


def _facts_or_none(base: Callable[[], SelinuxBase]) -> SelinuxFacts | None:
    try:
        return base().facts
    except ToolMissing:
        return None
