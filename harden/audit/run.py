"""``audit()``: the one library call behind ``harden audit`` (source -> rules -> report)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harden import __version__
from harden.audit.report import Report
from harden.audit.report_build import build_report
from harden.audit.rules.catalog import load_catalog
from harden.audit.rules.evaluator import Evaluator
from harden.audit.rules.model import Catalog, Finding, RulePack, Severity, Status
from harden.audit.sources.interface import Progress, Scan, no_progress
from harden.audit.state.model import SourceKind, TargetKind
from harden.errors import ExitCode, InputError

if TYPE_CHECKING:
    from harden.system.engine import Early


@dataclass(frozen=True)
class AuditRequest:
    generated_at: str  # ISO 8601 UTC; given by the caller so that the library has no clock
    source: SourceKind = SourceKind.ENGINE
    names: tuple[str, ...] = ()  # engine source: only these containers (and no host target)
    inputs: tuple[Path, ...] = ()  # inspect source: saved inspect JSON files
    packs: tuple[str, ...] = ()  # pack ids; empty: every pack
    rules_dir: Path | None = None  # another audit/ folder (tests, custom packs)
    parallel_from: int = 0  # containers from which two processes judge them; 0: the default
    cri_socket: str = ""  # cri source: the runtime's CRI socket ('' : the one found here)
    namespaces: tuple[str, ...] = ()  # cri and auto sources: only pods of these namespaces


def select_packs(
    catalog: Catalog, wanted: tuple[str, ...], *, every: bool = False
) -> tuple[RulePack, ...]:
    """The packs named in ``wanted``; none named: the default packs (``every``: all of them)."""
    if not wanted:
        return tuple(p for p in catalog.packs if every or p.default)
    known = {p.id: p for p in catalog.packs}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise InputError(
            f"unknown rule pack {unknown[0]!r}", hint=f"packs: {', '.join(sorted(known))}"
        )
    return tuple(known[w] for w in dict.fromkeys(wanted))


def collect(
    request: AuditRequest,
    progress: Progress,
    early: Early | None,
    judged: dict[str, tuple[Finding, ...]],
    evaluator: Evaluator,
) -> Scan:
    """The targets of the request's source. From the engine, many containers are judged
    by ``evaluator`` while they are read, half in a forked child (see
    :mod:`harden.audit.workers`): their findings go into ``judged``."""
    match request.source:
        case SourceKind.ENGINE:
            return _engine(request, progress, early, judged, evaluator)
        case SourceKind.CRI:
            from harden.audit.sources.cri import scan as cri  # noqa: PLC0415

            socket = request.cri_socket or cri.default_socket()
            return cri.scan(cri.CRIScan(socket, request.namespaces), progress)
        case SourceKind.AUTO:
            return _detected(request, progress, early, judged, evaluator)
        case SourceKind.PROC:
            from harden.audit.sources.proc import scan as procsource  # noqa: PLC0415

            return procsource.scan(progress)
        case SourceKind.INSPECT:
            from harden.audit.sources.docker import inspect as inputs  # noqa: PLC0415

            return inputs.scan(request.inputs, progress)
        case (
            SourceKind.KUBERNETES
            | SourceKind.COMPOSE
            | SourceKind.BUNDLE
            | SourceKind.FILES
            | SourceKind.FLEET
        ):
            raise InputError(f"{request.source.value} inputs are read by harden gate")


def _engine(
    request: AuditRequest,
    progress: Progress,
    early: Early | None,
    judged: dict[str, tuple[Finding, ...]],
    evaluator: Evaluator,
) -> Scan:
    from harden.audit import workers  # noqa: PLC0415
    from harden.audit.sources.docker import engine  # noqa: PLC0415

    finisher = workers.finish_all(evaluator, judged, parallel_from=request.parallel_from)
    scan = engine.EngineScan(request.names, not request.names)
    return engine.scan(scan, progress, early, finisher)


def _detected(
    request: AuditRequest,
    progress: Progress,
    early: Early | None,
    judged: dict[str, tuple[Finding, ...]],
    evaluator: Evaluator,
) -> Scan:
    """Every engine found by its socket (NAMES: Docker's containers, as before)."""
    from harden.audit.sources import detect  # noqa: PLC0415
    from harden.audit.sources.cri import scan as cri  # noqa: PLC0415
    from harden.audit.sources.cri.client import NotCRI  # noqa: PLC0415
    from harden.system.engine import Early, EngineError  # noqa: PLC0415

    found = [e for e in detect.find() if not request.names or e.kind is SourceKind.ENGINE]
    scans: list[tuple[detect.Engine, Scan]] = []
    for engine in found:
        if engine.kind is SourceKind.CRI:
            try:
                scan = cri.scan_found(cri.CRIScan(engine.socket, request.namespaces), progress)
            except NotCRI:
                continue  # e.g. Docker's own containerd: its containers are Docker's
            except EngineError as exc:
                scan = cri.unavailable(exc, f"unix://{engine.socket}")
        else:
            first = early if engine.name == "docker" else Early(listing=True, socket=engine.socket)
            scan = _engine(request, progress, first, judged, evaluator)
        scans.append((engine, scan))
    if not scans:  # nothing found: Docker's scan says what is missing
        return _engine(request, progress, early, judged, evaluator)
    return detect.join(scans, request.namespaces)


def audit(
    request: AuditRequest, progress: Progress = no_progress, early: Early | None = None
) -> Report:
    """The report of one audit; ``early``: the engine's first answers, begun by the caller."""
    catalog = load_catalog(request.rules_dir)
    packs = select_packs(catalog, request.packs)
    rules = [r for p in packs for r in p.rules]
    evaluators = {kind: Evaluator(rules, kind) for kind in TargetKind}
    judged: dict[str, tuple[Finding, ...]] = {}
    scan = collect(request, progress, early, judged, evaluators[TargetKind.CONTAINER])
    results = [
        (target, judged.get(target.id) or evaluators[target.kind].run(target))
        for target in scan.targets
    ]
    return build_report(
        scan,
        results,
        packs,
        dict(catalog.documents),
        generated_at=request.generated_at,
        tool_version=__version__,
    )


def exit_code(report: Report, fail_on: Severity | None) -> ExitCode:
    """4 engine unusable; 1 a failure at or above ``fail_on``; 3 something unknown; else 0."""
    if report.engine_unavailable:
        return ExitCode.ENVIRONMENT
    if fail_on is not None and any(
        f.status is Status.FAIL and f.rule.severity.rank >= fail_on.rank
        for t in report.targets
        for f in t.findings
    ):
        return ExitCode.FAILED
    if not report.complete:
        return ExitCode.INCOMPLETE
    return ExitCode.OK
