"""The audit report: findings per target, scores, and what the scan could not read.

Built once by :func:`harden.report.build.build_report`; every renderer reads only this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harden.audit.model import Finding, RulePack, Severity, Status
from harden.state.model import SourceKind, TargetKind

SCHEMA_VERSION = "1.0"


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

    def count(self, status: Status) -> int:
        return sum(t.counts.get(status, 0) for t in self.targets)

    def failed(self, severity: Severity) -> int:
        return sum(t.failed.get(severity, 0) for t in self.targets)

    @property
    def complete(self) -> bool:
        """Every rule could be decided (no error findings, no scan problem)."""
        return not self.problems and self.count(Status.ERROR) == 0
