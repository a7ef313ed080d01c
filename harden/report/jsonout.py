"""The JSON report: a versioned document, built as data and serialised (never templated).

The schema is ``reports/audit-report.schema.json``; ``schema_version`` changes its major
number only when a consumer would break. Output is ASCII (every other character is a
JSON escape), so hostile names cannot carry terminal escapes or invalid UTF-8 through it.
"""

from __future__ import annotations

import json
from typing import Any

from harden.audit.model import Finding, Rule, Severity, Status
from harden.report.formats import RenderOptions
from harden.report.model import SCHEMA_VERSION, Report, TargetResult


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
    }


def _finding(finding: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": finding.rule.id,
        "status": finding.status.value,
        "severity": finding.rule.severity.value,
        "message": finding.message,
    }
    if finding.detail is not None:
        out["detail"] = finding.detail
    out["evidence"] = [
        {"fact": e.fact, "value": e.value, "origin": e.origin} for e in finding.evidence
    ]
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
        "findings": [_finding(f) for f in result.findings if f.status is not Status.PASS],
        "passed": [f.rule.id for f in result.findings if f.status is Status.PASS],
    }


def document(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "harden-audit-report",
        "generated_at": report.generated_at,
        "tool": {"name": "harden", "version": report.tool_version},
        "scan": {
            "source": report.source.value,
            "endpoint": report.endpoint,
            "host": dict(report.host),
            "complete": report.complete,
            "engine_unavailable": report.engine_unavailable,
            "problems": list(report.problems),
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
