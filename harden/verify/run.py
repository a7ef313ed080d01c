"""``harden verify``: every artefact of a bundle through its real checker, then the
layers against each other.

Works on hand-edited bundles: each file is read as it is on disk. Every layer of the
registry checks its own files (the same checkers generate ran before writing them);
then the Kubernetes, compose, OCI and SPO documents are checked against their schemas,
and the cross-layer checks compare the layers. A failure of one artefact is a result,
not an exception; a checker that is not installed is an ``error`` result (nothing can
be said about that artefact).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harden.errors import ExitCode, ToolMissing
from harden.generate.files import SPEC_FILE
from harden.generate.reader import modified_files, read_layers, read_manifest
from harden.layers.interface import Checked, Verdict, judge
from harden.layers.registry import LAYERS, Host
from harden.layers.selinux.base import SelinuxBase, SelinuxFacts, load_base
from harden.profile.loader import load_spec
from harden.progress import Progress, no_progress, step
from harden.verify.crosslayer import Conflict, run_checks
from harden.verify.schema import DOCUMENTS, check_document


@dataclass(frozen=True)
class VerifyReport:
    path: Path
    results: tuple[Checked, ...]
    conflicts: tuple[Conflict, ...]
    modified: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> ExitCode:
        if self.conflicts or any(r.verdict is Verdict.FAILED for r in self.results):
            return ExitCode.FAILED
        if any(r.verdict is Verdict.ERROR for r in self.results):
            return ExitCode.ENVIRONMENT
        return ExitCode.OK


def _spec(path: Path) -> Checked:
    def load() -> Checked:
        start = time.perf_counter()
        name = load_spec(path / SPEC_FILE).spec.name
        return Checked(SPEC_FILE, "spec loader", Verdict.OK, name, time.perf_counter() - start)

    return judge(SPEC_FILE, "spec loader", load)


def _documents(path: Path, base: Callable[[], SelinuxBase]) -> list[Checked]:
    facts = _facts_or_none(base) if any(path.glob("spo-selinux*.yaml")) else None
    results = []
    for name in DOCUMENTS:
        if (path / name).is_file():
            problems = check_document(path / name, facts)
            verdict = Verdict.FAILED if problems else Verdict.OK
            detail = "; ".join(problems[:5]) or "conforms to the schema"
            results.append(Checked(name, "schema", verdict, detail))
    return results


def verify_bundle(
    path: Path,
    progress: Progress = no_progress,
    *,
    selinux_base: Callable[[], SelinuxBase] = load_base,
) -> VerifyReport:
    """Check every artefact of the bundle at ``path`` and the layers together."""
    manifest = read_manifest(path)
    files = {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
    host = Host(selinux_base)
    results = [_spec(path)]
    for name, layer in LAYERS.items():
        step(progress, f"checking the {name} layer")
        results += layer.check(files, host)
    results += _documents(path, selinux_base)
    conflicts = tuple(run_checks(read_layers(path)))
    return VerifyReport(path, tuple(results), conflicts, modified_files(path, manifest))


def _facts_or_none(base: Callable[[], SelinuxBase]) -> SelinuxFacts | None:
    try:
        return base().facts
    except ToolMissing:
        return None
