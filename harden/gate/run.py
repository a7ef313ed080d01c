"""``gate()``: the one library call behind ``harden gate`` (inputs -> rules -> policy -> report)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harden import __version__
from harden.audit.report import (
    GateOutcome,
    Report,
    ReportKind,
    TargetResult,
    build_report,
    order_key,
    rejudged,
)
from harden.audit.rules.catalog import load_catalog
from harden.audit.rules.evaluator import Evaluator
from harden.audit.rules.model import Finding, RulePack, Severity, Status
from harden.audit.run import Parallel, collect, select_packs
from harden.audit.sources.interface import Scan
from harden.audit.state.model import TargetKind
from harden.errors import ExitCode, FileProblems
from harden.gate import baseline as baseline_file
from harden.gate.policy import Policy, kubernetes_version, load_policy
from harden.gate.waivers import Accepting, accept, judge, label_waivers
from harden.progress import Progress, no_progress
from harden.report.locate import fingerprint

_UNSET = "policy"


@dataclass(frozen=True)
class GateRequest:
    paths: tuple[Path, ...]
    generated_at: str  # ISO 8601 UTC, given by the caller (the library has no clock)
    today: datetime.date  # for waiver expiry, given by the caller
    policy: Path | None = None
    fail_on: Severity | str | None = _UNSET  # overrides the policy's threshold when given
    kubernetes_version: str = ""  # "v1.30": overrides the policy's version when given
    baseline: Path | None = None  # overrides the policy's baseline when given
    write_baseline: Path | None = None
    rules_dir: Path | None = None
    allow_empty: bool = False  # judging nothing is a pass, not "incomplete" (exit 3)
    jobs: int = 0  # processes reading and judging the inputs; 0: one per core (up to 4)
    parallel_from: int = 64  # inputs from which more than one process is used
    contents: tuple[tuple[Path, str], ...] = ()  # files judged with this text, not the disk's


# Many small chunks, and this process only collects: a worker holds (and pickles) one
# chunk's results at a time, so ten thousand manifests never sit in memory with their facts.
CHUNKS_PER_JOB = 4
CHUNK_MOST = 250


def _policy(request: GateRequest) -> Policy:
    policy = policy_for(request.policy, request.fail_on)
    if request.baseline is not None:
        policy = dataclasses.replace(policy, baseline=request.baseline)
    if request.kubernetes_version:
        version = kubernetes_version(request.kubernetes_version)
        policy = dataclasses.replace(policy, kubernetes_version=version)
    return policy


def evaluators(packs: Iterable[RulePack], policy: Policy) -> dict[TargetKind, Evaluator]:
    """The rules of ``packs`` the policy selects, compiled as of its Kubernetes version
    (the gate's judge; the PSA conformance test judges its fixtures with it too)."""
    rules = [r for p in packs for r in p.rules if policy.selects(r.id, r.since)]
    return {kind: Evaluator(rules, kind, policy.kubernetes_version) for kind in TargetKind}


def gate(request: GateRequest, progress: Progress = no_progress) -> tuple[Report, str | None]:
    """The gate report, and the baseline text to write (when asked for one)."""
    from harden.audit.sources.files import FilesSource  # noqa: PLC0415
    from harden.system.parallel import workers  # noqa: PLC0415

    policy = _policy(request)
    catalog = load_catalog(request.rules_dir)
    wrong = policy.check_names([p.id for p in catalog.packs], [r.id for r in catalog.rules()])
    if wrong:
        where = policy.source or "the policy"
        raise FileProblems(where, wrong, hint="harden rules list shows the packs and rules")
    packs = select_packs(catalog, policy.packs)
    accepted = {}
    if policy.baseline is not None and (request.baseline is not None or policy.baseline.exists()):
        # a baseline the policy names may not exist yet: --write-baseline makes it
        accepted = baseline_file.load(policy.baseline)
    parallel = Parallel(
        jobs=request.jobs or workers(),
        from_items=request.parallel_from,
        chunks_per_job=CHUNKS_PER_JOB,
        most=CHUNK_MOST,
    )
    source = FilesSource(request.paths, policy.ignore_kinds, request.contents)
    found, results = collect(source, evaluators(packs, policy), parallel, progress)
    if not found.targets and not request.allow_empty:
        found = dataclasses.replace(found, problems=(*found.problems, _nothing(found)))
    known = frozenset(r.id for r in catalog.rules())
    ctx = Accepting(policy, accepted, request.today, str(policy.baseline or ""))
    baseline_text = None
    if request.write_baseline is not None:
        # Accept every failure as it is now: the new baseline, and this run judged by it.
        first = build_report(
            found,
            accept(results, dataclasses.replace(ctx, baseline={}), known),
            packs,
            dict(catalog.documents),
            generated_at="",
            tool_version="",
        )
        entries = [
            baseline_file.Entry(fingerprint(t, f), f.rule.id, t.name, t.file)
            for t in first.targets
            for f in t.findings
            if f.status is Status.FAIL and "[waiver expired:" not in f.message
        ]
        baseline_text = baseline_file.render(entries)
        ctx = Accepting(
            policy, {e.fingerprint: e for e in entries}, request.today, str(request.write_baseline)
        )
    judged = accept(results, ctx, known)
    report = build_report(
        found,
        judged,
        packs,
        dict(catalog.documents),
        generated_at=request.generated_at,
        tool_version=__version__,
    )
    outcome = GateOutcome(
        policy=policy.source,
        fail_on=policy.fail_on,
        violations=violations(report.targets, policy.fail_on),
        expired=tuple(dict.fromkeys(ctx.expired)),
        unused=tuple(ctx.unused()),
        baseline=ctx.baseline_name,
    )
    return dataclasses.replace(report, kind=ReportKind.GATE, gate=outcome), baseline_text


def violations(targets: Iterable[TargetResult], fail_on: Severity | None) -> int:
    """Failures at or above ``fail_on``, and failures whose waiver expired."""
    return sum(
        1
        for t in targets
        for f in t.findings
        if f.status is Status.FAIL
        and (
            (fail_on is not None and f.rule.severity.rank >= fail_on.rank)
            or "[waiver expired:" in f.message
        )
    )


def policy_for(path: Path | None, fail_on: Severity | str | None = _UNSET) -> Policy:
    """The policy file's (or the defaults), with a command line threshold winning."""
    policy = load_policy(path) if path is not None else Policy()
    if fail_on != _UNSET:
        threshold = fail_on if isinstance(fail_on, Severity) else None
        policy = dataclasses.replace(policy, fail_on=threshold)
    return policy


def apply_policy(report: Report, policy: Policy, today: datetime.date) -> Report:
    """An audit judged by a gate policy: its rule selection, waivers (in the policy, and
    inline as ``harden.dev/waive.RULE`` container labels) and threshold, with the verdict
    every format shows. Malformed inline waivers are scan problems (the audit goes on)."""
    catalog = load_catalog()
    known = frozenset(r.id for r in catalog.rules())
    # the audit chooses its packs (--pack); a gate policy's packs are the gate's
    wrong = policy.check_names(policy.packs, sorted(known))
    if wrong and policy.source:
        raise FileProblems(policy.source, wrong, hint="harden rules list shows the packs and rules")
    ctx = Accepting(policy, {}, today)
    selected: dict[str, bool] = {}  # rule id -> whether the policy selects it

    def chosen(f: Finding) -> bool:
        found = selected.get(f.rule.id)
        if found is None:
            found = selected[f.rule.id] = policy.selects(f.rule.id, f.rule.since)
        return found

    targets, problems = [], list(report.problems)
    for target in report.targets:
        inline, found = label_waivers(target.labels, known)
        problems += [f"{target.name}: {p}" for p in found]
        if not (inline or policy.waivers) and all(map(chosen, target.findings)):
            targets.append(target)  # nothing to waive, nothing left out: as judged
            continue
        findings = tuple(
            judge(target, f, inline, ctx) if f.status is Status.FAIL else f
            for f in target.findings
            if chosen(f)
        )
        targets.append(rejudged(target, findings))
    outcome = GateOutcome(
        policy=policy.source,
        fail_on=policy.fail_on,
        violations=violations(targets, policy.fail_on),
        expired=tuple(dict.fromkeys(ctx.expired)),
        unused=tuple(ctx.unused()),
    )
    return dataclasses.replace(
        report,
        targets=tuple(sorted(targets, key=order_key)),
        problems=tuple(problems),
        gate=outcome,
    )


def _nothing(scan: Scan) -> str:
    skipped = f"; {len(scan.skipped)} files are no input" if scan.skipped else ""
    return (
        "nothing to judge: no Kubernetes workload, compose service, inspect object or bundle "
        f"was found{skipped} (--allow-empty accepts an empty run)"
    )


def exit_code(report: Report) -> ExitCode:
    """1 the policy is violated; 3 nothing violated but something could not be decided; 0."""
    if report.gate is not None and not report.gate.passed:
        return ExitCode.FAILED
    if not report.complete:
        return ExitCode.INCOMPLETE
    return ExitCode.OK
