"""The aggregates every renderer shows, computed in one place so that all formats agree.

Counts by status and severity, rules by how often they failed, hosts worst first (fleet
reports), the rows of the findings table, the fix in the form of each input kind, and
the gate's verdict.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from harden.audit.report import Report, ReportKind, TargetResult
from harden.audit.rules.model import Finding, Rule, Severity, Status
from harden.audit.state.model import SourceKind
from harden.report.locate import location

SHOWN = (Status.FAIL, Status.WAIVED, Status.ERROR)  # the findings listed one by one


@dataclass(frozen=True)
class RuleRow:
    rule: Rule
    failed: int
    waived: int
    errors: int


@dataclass(frozen=True)
class HostRow:
    host: str
    targets: int
    failed: dict[Severity, int]
    worst: Severity | None
    score: int | None  # the lowest target score on the host


@dataclass(frozen=True)
class Row:
    target: TargetResult
    finding: Finding
    file: str
    line: int | None


def status_counts(report: Report) -> dict[Status, int]:
    return {s: report.count(s) for s in Status}


def shown_count(report: Report, statuses: Iterable[Status] = SHOWN) -> int:
    return sum(report.count(s) for s in frozenset(statuses))


def severity_counts(report: Report) -> dict[Severity, int]:
    return {s: report.failed(s) for s in Severity}


def rule_rows(report: Report) -> list[RuleRow]:
    counts: dict[str, Counter[Status]] = defaultdict(Counter)
    rules: dict[str, Rule] = {}
    for target in report.targets:
        for finding in target.findings:
            if finding.status in SHOWN:
                counts[finding.rule.id][finding.status] += 1
                rules[finding.rule.id] = finding.rule
    rows = [
        RuleRow(rules[i], c[Status.FAIL], c[Status.WAIVED], c[Status.ERROR])
        for i, c in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.rule.severity.rank, -r.failed, -r.errors, r.rule.id))


def host_rows(report: Report) -> list[HostRow]:
    grouped: dict[str, list[TargetResult]] = defaultdict(list)
    for target in report.targets:
        grouped[target.host].append(target)
    rows = []
    for host, targets in grouped.items():
        failed = {s: sum(t.failed.get(s, 0) for t in targets) for s in Severity}
        worst = next((s for s in Severity if failed[s]), None)
        scores = [t.score for t in targets if t.score is not None]
        rows.append(HostRow(host, len(targets), failed, worst, min(scores) if scores else None))
    return sorted(
        rows,
        key=lambda h: (
            -(h.worst.rank if h.worst else -1),
            *(-h.failed[s] for s in Severity),
            h.score if h.score is not None else 101,
            h.host,
        ),
    )


def finding_rows(
    report: Report, statuses: Iterable[Status] = SHOWN, limit: int | None = None
) -> list[Row]:
    """The listed findings, targets worst first; at most ``limit`` rows."""
    wanted = frozenset(statuses)
    rows: list[Row] = []
    for target in report.targets:
        if limit is not None and len(rows) >= limit:
            break
        findings = [f for f in target.findings if f.status in wanted]
        findings.sort(key=lambda f: (_status_order(f.status), -f.rule.severity.rank, f.rule.id))
        for finding in findings:
            file, line = location(target, finding)
            rows.append(Row(target, finding, file, line))
    return rows[:limit]


def _status_order(status: Status) -> int:
    return {Status.FAIL: 0, Status.ERROR: 1, Status.WAIVED: 2}.get(status, 3)


def remediation(rule: Rule, source: SourceKind | None) -> str:
    """The fix in the form the target was written in."""
    if source in (SourceKind.KUBERNETES, SourceKind.CRI):  # live pods are fixed in manifests
        return rule.remediation.kubernetes
    if source is SourceKind.COMPOSE:
        return rule.remediation.compose
    return rule.remediation.docker


def title(report: Report) -> str:
    return {
        ReportKind.AUDIT: "harden audit",
        ReportKind.GATE: "harden gate",
        ReportKind.FLEET: "harden fleet report",
    }[report.kind]


def verdict(report: Report) -> str:
    """One line: what the gate decided, or what the audit found."""
    gate = report.gate
    if gate is not None:
        threshold = gate.fail_on.value if gate.fail_on is not None else "never"
        if gate.passed:
            text = f"PASSED (fail on: {threshold})"
        else:
            n = gate.violations
            text = f"FAILED: {n} violation{_s(n)} (fail on: {threshold}"
            expired = len(gate.expired)
            text += f"; {expired} expired waiver{_s(expired)})" if expired else ")"
        if report.complete:
            return text
        if not report.targets:
            return "INCOMPLETE: nothing was judged"
        return text + "; INCOMPLETE: some rules could not be decided or some input not read"
    failed = sum(severity_counts(report).values())
    return f"{failed} failure{'s' if failed != 1 else ''}" + (
        "" if report.complete else "; incomplete"
    )


def where(row: Row) -> str:
    """``file:line`` for static inputs, the host for fleet targets, else ''."""
    if row.file:
        return f"{row.file}:{row.line}" if row.line else row.file
    return row.target.host


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def skipped_notes(report: Report, most: int) -> list[str]:
    """The files a gate met that are no input, as 'path: reason' (untrusted text), the
    first ``most`` of them and a count of the rest."""
    notes = [f"skipped {path}: {reason}" for path, reason in report.skipped[:most]]
    rest = len(report.skipped) - most
    if rest > 0:
        notes.append(f"skipped {rest} more files that are no input (--format json lists all)")
    return notes
