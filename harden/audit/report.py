"""The audit report: findings per target, scores, and what the scan could not read.

Built once by :func:`build_report`; every renderer reads only this.

Score (:func:`score`, the one formula every command and format shows): 100, minus 40 per
critical failure, 20 per high, 8 per medium, 2 per low (0 per info), at most 39 with a
critical failure, 69 with a high one, 89 with a medium one, 99 with a low one, and never
below 0; no score when no rule could be decided, or when some rule could not be
decided and none failed (100 would claim what was not read). It depends on the failures
alone (not on how many rules passed), so one more failure never raises it. Order: the most severe
failure first, then the lowest score, then unreadable targets before clean ones, then by
name.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harden.audit.rules.model import Finding, RulePack, Severity, Status
from harden.audit.state.model import Fact, GapKind, SourceKind, TargetKind, TargetState

if TYPE_CHECKING:
    from harden.audit.sources.interface import Scan

SCHEMA_VERSION = "1.2"


class ReportKind(enum.StrEnum):
    AUDIT = "audit"  # harden audit: one host
    GATE = "gate"  # harden gate: static inputs under a policy
    FLEET = "fleet"  # harden report merge: many hosts


@dataclass(frozen=True)
class GateOutcome:
    """What the gate's policy decided (gate reports only)."""

    policy: str  # the policy file, '' for the defaults
    fail_on: Severity | None
    violations: int  # failures at or above fail_on, plus failures whose waiver expired
    expired: tuple[str, ...] = ()  # expired waivers that matched a failure, for a person
    unused: tuple[str, ...] = ()  # waivers that matched no failure (stale?)
    baseline: str = ""  # the baseline file used, '' for none

    @property
    def passed(self) -> bool:
        return self.violations == 0


@dataclass(frozen=True)
class TargetResult:
    kind: TargetKind
    id: str
    name: str  # untrusted: container names may hold escapes and markup
    image: str  # untrusted
    runtime: str
    labels: Mapping[str, str]  # untrusted
    findings: tuple[Finding, ...]
    score: int | None  # 0-100 (100: no failure); None when nothing could be decided
    worst: Severity | None  # the most severe failure
    counts: Mapping[Status, int]
    failed: Mapping[Severity, int]
    unreadable: str = ""  # why the whole target could not be read ('' when it could)
    source: SourceKind | None = None  # the input kind (gate: kubernetes, compose, ...)
    file: str = ""  # static inputs: the file that defines the target
    line: int | None = None
    host: str = ""  # fleet reports: the host the target was audited on

    @property
    def failing(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status is Status.FAIL)


@dataclass(frozen=True)
class Report:
    generated_at: str  # ISO 8601, UTC (given by the caller: renderers use no clock)
    tool_version: str
    source: SourceKind
    endpoint: str
    host: Mapping[str, str]
    packs: tuple[RulePack, ...]
    documents: Mapping[str, str]  # reference documents: "cis" -> "CIS Docker Benchmark v1.6.0"
    targets: tuple[TargetResult, ...]  # worst first
    problems: tuple[str, ...]  # scan-level problems (engine unavailable, ...)
    engine_unavailable: bool = False
    kind: ReportKind = ReportKind.AUDIT
    gate: GateOutcome | None = None
    hosts: tuple[str, ...] = ()  # fleet reports: every merged host, in input order
    skipped: tuple[tuple[str, str], ...] = ()  # gate: (path, reason) of files that are no input

    def count(self, status: Status) -> int:
        return sum(t.counts.get(status, 0) for t in self.targets)

    def failed(self, severity: Severity) -> int:
        return sum(t.failed.get(severity, 0) for t in self.targets)

    @property
    def complete(self) -> bool:
        """Every rule could be decided (no error findings, no scan problem)."""
        return not self.problems and self.count(Status.ERROR) == 0


def _unreadable(state: TargetState) -> str:
    gap = state.gaps.get("declared.*") or state.gaps.get("effective.*")
    both = state.gaps.get("declared.*") and state.gaps.get("effective.*")
    if gap is not None and both and gap.kind is GapKind.FAILED:
        return gap.reason
    return ""


def _labels(state: TargetState) -> dict[str, str]:
    fact = state.fact("labels")
    if fact is None or not isinstance(fact.value, dict):
        return {}
    labels: dict[str, str] = fact.value
    if all(type(k) is str and type(v) is str for k, v in labels.items()):
        return labels  # the source's own map (facts are not changed after a scan): no copy
    return {str(k): str(v) for k, v in labels.items()}


def score(counts: Mapping[Status, int], failed: Mapping[Severity, int]) -> int | None:
    """A target's score from its status counts and its failures by severity (see above)."""
    if not counts.get(Status.PASS) and not counts.get(Status.FAIL):
        return None
    if counts.get(Status.ERROR) and not counts.get(Status.FAIL):
        return None  # 100 would claim what could not be read (e.g. --source proc gaps)
    lost = sum(severity.penalty * n for severity, n in failed.items())
    ceiling = min((severity.ceiling for severity, n in failed.items() if n), default=100)
    return max(0, min(ceiling, 100 - lost))


def tally(findings: Iterable[Finding]) -> tuple[dict[Status, int], dict[Severity, int]]:
    """Findings per status, and failures per severity."""
    counts: dict[Status, int] = {}
    failed: dict[Severity, int] = {}
    for finding in findings:
        status = finding.status
        counts[status] = counts.get(status, 0) + 1
        if status is Status.FAIL:
            severity = finding.rule.severity
            failed[severity] = failed.get(severity, 0) + 1
    return counts, failed


def target_result(state: TargetState, findings: tuple[Finding, ...]) -> TargetResult:
    counts, failed = tally(findings)
    worst = max(failed, key=lambda s: s.rank) if failed else None
    return TargetResult(
        kind=state.kind,
        id=state.id,
        name=state.name,
        image=state.label("image"),
        runtime=state.label("runtime"),
        labels=_labels(state),
        findings=findings,
        score=score(counts, failed),
        worst=worst,
        counts=counts,
        failed=failed,
        unreadable=_unreadable(state),
        source=state.source,
        file=state.file,
        line=state.line,
    )


def rejudged(result: TargetResult, findings: tuple[Finding, ...]) -> TargetResult:
    """``result`` with other findings (a policy waived some, left rules out): the counts,
    worst failure and score follow them."""
    counts, failed = tally(findings)
    worst = max(failed, key=lambda s: s.rank) if failed else None
    return dataclasses.replace(
        result,
        findings=findings,
        counts=counts,
        failed=failed,
        worst=worst,
        score=score(counts, failed),
    )


_KEPT_FACTS = ("labels", "image", "runtime")


def slim(state: TargetState) -> TargetState:
    """What a report needs of a judged target: no facts beyond its labels, image and
    runtime, and only whole-layer gaps (why it could not be read at all). Judged targets
    are kept (and sent between processes) in this form."""
    kept = {}
    for key in _KEPT_FACTS:
        fact = state.fact(key)
        if fact is not None:
            kept[key] = Fact(fact.value, "")
    return dataclasses.replace(
        state,
        declared=kept,
        effective={},
        gaps={k: g for k, g in state.gaps.items() if k.endswith(".*")},
    )


def order_key(result: TargetResult) -> tuple[int, int, int, str, str]:
    worst = result.worst.rank if result.worst is not None else -1
    score_key = result.score if result.score is not None else -1
    return (-worst, score_key, -result.counts.get(Status.ERROR, 0), result.name, result.id)


def build_report(
    scan: Scan,
    results: Iterable[tuple[TargetState, tuple[Finding, ...]]],
    packs: tuple[RulePack, ...],
    documents: dict[str, str],
    *,
    generated_at: str,
    tool_version: str,
) -> Report:
    targets = sorted((target_result(s, f) for s, f in results), key=order_key)
    return Report(
        generated_at=generated_at,
        tool_version=tool_version,
        source=scan.source,
        endpoint=scan.endpoint,
        host=dict(scan.meta),
        packs=packs,
        documents=documents,
        targets=tuple(targets),
        problems=scan.problems,
        engine_unavailable=scan.engine_unavailable,
        skipped=scan.skipped,
    )
