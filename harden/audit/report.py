"""The audit report: findings per target, scores, and what the scan could not read.

Built once by :func:`harden.audit.report_build.build_report`; every renderer reads only this.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from harden.audit.rules.model import Finding, RulePack, Severity, Status
from harden.audit.state.model import SourceKind, TargetKind

SCHEMA_VERSION = "1.1"


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

    def count(self, status: Status) -> int:
        return sum(t.counts.get(status, 0) for t in self.targets)

    def failed(self, severity: Severity) -> int:
        return sum(t.failed.get(severity, 0) for t in self.targets)

    @property
    def complete(self) -> bool:
        """Every rule could be decided (no error findings, no scan problem)."""
        return not self.problems and self.count(Status.ERROR) == 0
