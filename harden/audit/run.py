"""``audit()``: the one library call behind ``harden audit``, and the runner every
judging command shares: a source collects, then the rules judge.

:func:`collect` asks a source (:class:`harden.audit.sources.interface.Source`) for its
items, reads each one and judges its targets right after (so that a target's facts are
dropped as soon as it is judged: the report keeps slim targets), in this process or, for
many items, in forked workers (:func:`harden.system.parallel.map_chunks`). The source
never sees a rule, and the rules never see how the facts were read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from harden import __version__
from harden.audit.sources.interface import Read, Scan, Source
from harden.audit.state.model import SourceKind, TargetKind, TargetState
from harden.errors import ExitCode, InputError, Reported
from harden.progress import Progress, no_progress
from harden.system.engine import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from harden.audit.report import Report
    from harden.audit.rules.evaluator import Evaluator
    from harden.audit.rules.model import Catalog, Finding, RulePack, Severity

Judged = list[tuple[TargetState, tuple["Finding", ...]]]
R = TypeVar("R")


@dataclass(frozen=True)
class Parallel:
    """How a run spreads its items over processes (see :mod:`harden.system.parallel`)."""

    jobs: int  # processes; 1: this one alone
    from_items: int  # fewer items than this: one process (forking costs more than it saves)
    chunks_per_job: int = 1
    most: int = 0  # items per chunk at most (0: no limit)
    share: bool = False  # this process takes a share of the chunks, or only collects


# A whole-host audit: above ~48 containers one forked child reads and judges half of
# them while this process does the other half (measured: `make bench`, section audit).
AUDIT_PARALLEL = Parallel(jobs=2, from_items=48, share=True)


@dataclass(frozen=True)
class AuditRequest:
    generated_at: str  # ISO 8601 UTC; given by the caller so that the library has no clock
    source: SourceKind = SourceKind.ENGINE
    names: tuple[str, ...] = ()  # engine source: only these containers (and no host target)
    inputs: tuple[Path, ...] = ()  # inspect source: saved inspect JSON files
    packs: tuple[str, ...] = ()  # pack ids; empty: every pack
    rules_dir: Path | None = None  # another audit/ folder (tests, custom packs)
    parallel_from: int = 0  # containers from which two processes judge them; 0: the default
    timeout: float = DEFAULT_TIMEOUT  # engine source: seconds to connect, and per whole answer
    cri_socket: str = ""  # cri source: the runtime's CRI socket ('': the one found here)
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
        import difflib  # noqa: PLC0415 - only for the error message

        close = difflib.get_close_matches(unknown[0], sorted(known), n=1, cutoff=0.5)
        guess = f"; did you mean {close[0]}?" if close else ""
        raise InputError(
            f"unknown rule pack {unknown[0]!r}{guess}", hint=f"packs: {', '.join(sorted(known))}"
        )
    return tuple(known[w] for w in dict.fromkeys(wanted))


def collect(
    source: Source[Any],
    evaluators: Mapping[TargetKind, Evaluator],
    parallel: Parallel,
    progress: Progress = no_progress,
) -> tuple[Scan, Judged]:
    """The source's scan, and every target of it with its findings, in the scan's order."""
    from harden.audit.report import slim  # noqa: PLC0415
    from harden.system import parallel as processes  # noqa: PLC0415

    items = source.plan(progress)

    def one(item: Any) -> tuple[Read, list[tuple[Finding, ...]]]:
        read = source.read(item)
        findings = [evaluators[t.kind].run(t) for t in read.targets]
        read.targets = [slim(t) for t in read.targets]
        return read, findings

    def work(chunk: Sequence[Any]) -> list[tuple[Read, list[tuple[Finding, ...]]]]:
        out = [one(item) for item in chunk]
        for read, _findings in out:
            if read.error is not None:  # crosses the process boundary as its diagnostics
                read.error = Reported(read.error.diagnostics(), read.error.exit_code)
        return out

    results: Iterable[tuple[Read, list[tuple[Finding, ...]]]]
    if len(items) < parallel.from_items or parallel.jobs < 2:
        results = _serial(one, items, source, progress)
    else:
        jobs = parallel.jobs
        chunks = processes.chunked(items, jobs * parallel.chunks_per_job, most=parallel.most)
        parts = processes.map_chunks(work, chunks, jobs=jobs, share=parallel.share)
        results = (result for part in _arrived(parts, chunks, source, progress) for result in part)
    reads: list[Read] = []
    found: dict[int, tuple[Finding, ...]] = {}
    with processes.no_cycle_collection():  # workers inherit it
        for read, findings in results:
            reads.append(read)
            found.update((id(t), f) for t, f in zip(read.targets, findings, strict=True))
    progress(len(items), len(items), "")
    scan = source.finish(reads)
    judged = [
        (t, found[id(t)] if id(t) in found else evaluators[t.kind].run(t)) for t in scan.targets
    ]
    return scan, judged


def _serial(
    one: Callable[[Any], R], items: Sequence[Any], source: Source[Any], progress: Progress
) -> Iterator[R]:
    """Each item read here, the progress shown before it is read."""
    for done, item in enumerate(items):
        progress(done, len(items), source.label(item))
        yield one(item)


def _arrived(
    parts: Iterable[R], chunks: Sequence[Sequence[Any]], source: Source[Any], progress: Progress
) -> Iterator[R]:
    """Each chunk's result as it arrives from the workers, the progress shown after it."""
    done = 0
    for part, chunk in zip(parts, chunks, strict=True):
        done += len(chunk)
        progress(done, sum(len(c) for c in chunks), source.label(chunk[-1]))
        yield part


def _source(request: AuditRequest) -> Source[Any]:
    match request.source:
        case SourceKind.ENGINE:
            from harden.audit.sources.docker.engine import EngineScan, EngineSource  # noqa: PLC0415

            return EngineSource(EngineScan(request.names, not request.names, request.timeout))
        case SourceKind.CRI:
            from harden.audit.sources.cri.scan import CRIScan, CRISource, default_socket  # noqa: PLC0415

            return CRISource(CRIScan(request.cri_socket or default_socket(), request.namespaces))
        case SourceKind.AUTO:
            from harden.audit.sources.detect import DetectedSource  # noqa: PLC0415

            return DetectedSource(request.names, request.namespaces, timeout=request.timeout)
        case SourceKind.PROC:
            from harden.audit.sources.proc.scan import ProcSource  # noqa: PLC0415

            return ProcSource()
        case SourceKind.INSPECT:
            from harden.audit.sources.docker.inspect import InspectSource  # noqa: PLC0415

            return InspectSource(request.inputs)
        case (
            SourceKind.KUBERNETES
            | SourceKind.COMPOSE
            | SourceKind.BUNDLE
            | SourceKind.FILES
            | SourceKind.FLEET
        ):
            raise InputError(f"{request.source.value} inputs are read by harden gate")


def audit(request: AuditRequest, progress: Progress = no_progress) -> Report:
    """The report of one audit.

    The source is made first: the engine source starts asking the engine while the rules
    and the rest of the pipeline load (the imports below are deliberately late).
    """
    source = _source(request)
    from harden.audit.report import build_report  # noqa: PLC0415
    from harden.audit.rules.catalog import load_catalog  # noqa: PLC0415
    from harden.audit.rules.evaluator import Evaluator  # noqa: PLC0415

    catalog = load_catalog(request.rules_dir)
    packs = select_packs(catalog, request.packs)
    rules = [r for p in packs for r in p.rules]
    evaluators = {kind: Evaluator(rules, kind) for kind in TargetKind}
    parallel = AUDIT_PARALLEL
    if request.parallel_from:
        parallel = Parallel(parallel.jobs, request.parallel_from, share=parallel.share)
    scan, judged = collect(source, evaluators, parallel, progress)
    return build_report(
        scan,
        judged,
        packs,
        dict(catalog.documents),
        generated_at=request.generated_at,
        tool_version=__version__,
    )


def exit_code(report: Report, fail_on: Severity | None) -> ExitCode:
    """4 engine unusable; 1 a failure at or above ``fail_on``; 3 something unknown; else 0."""
    from harden.audit.rules.model import Status  # noqa: PLC0415

    if report.engine_unavailable:
        return ExitCode.ENVIRONMENT
    if report.gate is not None:  # judged by a policy (waivers, expired ones): its verdict
        if not report.gate.passed:
            return ExitCode.FAILED
    elif fail_on is not None and any(
        f.status is Status.FAIL and f.rule.severity.rank >= fail_on.rank
        for t in report.targets
        for f in t.findings
    ):
        return ExitCode.FAILED
    if not report.complete:
        return ExitCode.INCOMPLETE
    return ExitCode.OK
