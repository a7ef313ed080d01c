"""The JSON report: a versioned document, built as data and serialised (never templated).

The schema is ``reports/audit-report.schema.json``; ``schema_version`` changes its major
number only when a consumer would break. Output is ASCII (every other character is a
JSON escape), so hostile names cannot carry terminal escapes or invalid UTF-8 through it.
"""

from __future__ import annotations

import json
from typing import Any

from harden.audit.report import SCHEMA_VERSION, Report, TargetResult
from harden.audit.rules.model import Finding, Rule, Severity, Status
from harden.report.formats import RenderOptions
from harden.report.locate import fingerprint, location


def rule_data(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "pack": rule.pack,
        "target": rule.target.value,
        "title": rule.title,
        "severity": rule.severity.value,
        "mode": rule.mode.value,
        "references": {
            "cis": list(rule.references.cis),
            "nist": list(rule.references.nist),
            "pss": list(rule.references.pss),
        },
        "remediation": {
            "docker": rule.remediation.docker,
            "compose": rule.remediation.compose,
            "kubernetes": rule.remediation.kubernetes,
        },
        "rationale": rule.rationale,
        "since": rule.since,
    }


def _finding(result: TargetResult, finding: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": finding.rule.id,
        "status": finding.status.value,
        "severity": finding.rule.severity.value,
        "message": finding.message,
    }
    if finding.detail is not None:
        out["detail"] = finding.detail
    evidence = []
    for e in finding.evidence:
        item = {"fact": e.fact, "value": e.value, "origin": e.origin}
        if e.line is not None:
            item["line"] = e.line
        evidence.append(item)
    out["evidence"] = evidence
    if result.file:
        file, line = location(result, finding)
        out["location"] = {"file": file, "line": line}
    if result.file or result.host:
        out["fingerprint"] = fingerprint(result, finding)
    if finding.accepted is not None:
        a = finding.accepted
        out["accepted"] = {
            "how": a.how.value,
            "reason": a.reason,
            "owner": a.owner,
            "expires": a.expires,
            "where": a.where,
        }
    return out


def _counts(result: TargetResult) -> dict[str, Any]:
    return {
        "status": {s.value: result.counts.get(s, 0) for s in Status},
        "failed": {s.value: result.failed.get(s, 0) for s in Severity},
    }


def _target(result: TargetResult) -> dict[str, Any]:
    return {
        "kind": result.kind.value,
        "id": result.id,
        "name": result.name,
        "image": result.image,
        "runtime": result.runtime,
        "labels": dict(result.labels),
        "score": result.score,
        "worst": result.worst.value if result.worst is not None else None,
        "unreadable": result.unreadable,
        **_counts(result),
        "findings": [_finding(result, f) for f in result.findings if f.status is not Status.PASS],
        "passed": [f.rule.id for f in result.findings if f.status is Status.PASS],
        **_where(result),
    }


def _where(result: TargetResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if result.source is not None:
        out["source"] = result.source.value
    if result.file:
        out["file"], out["line"] = result.file, result.line
    if result.host:
        out["host"] = result.host
    return out


def _gate(report: Report) -> dict[str, Any] | None:
    gate = report.gate
    if gate is None:
        return None
    return {
        "passed": gate.passed,
        "policy": gate.policy,
        "fail_on": gate.fail_on.value if gate.fail_on is not None else None,
        "violations": gate.violations,
        "expired": list(gate.expired),
        "unused": list(gate.unused),
        "baseline": gate.baseline,
    }


def document(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "harden-audit-report",
        "report_kind": report.kind.value,
        "generated_at": report.generated_at,
        "tool": {"name": "harden", "version": report.tool_version},
        "scan": {
            "source": report.source.value,
            "endpoint": report.endpoint,
            "host": dict(report.host),
            "complete": report.complete,
            "engine_unavailable": report.engine_unavailable,
            "problems": list(report.problems),
            "skipped": [{"file": f, "reason": r} for f, r in report.skipped],
        },
        "references": dict(report.documents),
        "packs": [
            {
                "id": p.id,
                "title": p.title,
                "version": p.version,
                "target": p.target.value,
                "rules": len(p.rules),
            }
            for p in report.packs
        ],
        "rules": [rule_data(r) for p in report.packs for r in p.rules],
        "summary": {
            "targets": len(report.targets),
            "status": {s.value: report.count(s) for s in Status},
            "failed": {s.value: report.failed(s) for s in Severity},
        },
        "targets": [_target(t) for t in report.targets],
        "gate": _gate(report),
        "hosts": list(report.hosts),
    }


def render_json(report: Report, options: RenderOptions) -> str:
    indent = 2 if options.pretty else None
    separators = None if options.pretty else (",", ":")
    return (
        json.dumps(
            document(report), indent=indent, separators=separators, ensure_ascii=True, default=str
        )
        + "\n"
    )
