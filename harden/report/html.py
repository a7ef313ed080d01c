"""The self-contained HTML report: jinja2 (autoescape, StrictUndefined), inline CSS, no network.

The template is ``reports/report.html.j2``. It receives plain strings only, each
untrusted one already passed through :func:`shown` (control characters as escapes);
autoescaping then makes markup literal. A Content-Security-Policy forbids every fetch.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from harden.audit.report import Report, TargetResult
from harden.audit.rules.model import Severity, Status
from harden.audit.state.model import TargetKind
from harden.report.formats import RenderOptions
from harden.report.ruledoc import DEFAULT_DOCS_URL, docs_url, references_text
from harden.report.summary import (
    finding_rows,
    host_rows,
    remediation,
    rule_rows,
    severity_counts,
    shown_count,
    skipped_notes,
    status_counts,
    title,
    verdict,
    where,
)
from harden.report.text import shown

MAX_ROWS = 5_000  # findings rows in one page (a browser stays usable); JSON has them all
_STATUS_LABEL = {Status.FAIL: "fail", Status.WAIVED: "waived", Status.ERROR: "unknown"}


@functools.cache
def _template() -> Any:
    import jinja2  # noqa: PLC0415

    from harden.resources import data_dir  # noqa: PLC0415

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("reports"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2")


def _found(row: Any) -> str:
    finding = row.finding
    if finding.accepted is not None:
        a = finding.accepted
        text = f"waived ({a.how.value}): {a.reason}"
        text += (f"; owner {a.owner}" if a.owner else "") + (
            f"; until {a.expires}" if a.expires else ""
        )
        return shown(text, 400)
    if finding.status is Status.ERROR or finding.detail is None:
        return shown(finding.message, 400)
    return shown(json.dumps(finding.detail, ensure_ascii=False, default=str), 400)


def context(report: Report, docs: str = DEFAULT_DOCS_URL) -> dict[str, Any]:
    severities = severity_counts(report)
    statuses = status_counts(report)
    cards = [{"css": s.value, "label": s.value, "count": severities[s]} for s in Severity]
    cards += [
        {"css": "waived", "label": "waived", "count": statuses[Status.WAIVED]},
        {"css": "unknown", "label": "unknown", "count": statuses[Status.ERROR]},
        {"css": "passed", "label": "passed", "count": statuses[Status.PASS]},
    ]
    rows = finding_rows(report, limit=MAX_ROWS)
    gate = report.gate
    notes = [shown(p, 400) for p in report.problems]
    if gate is not None:
        notes = [f"expired waiver: {shown(e, 400)}" for e in gate.expired] + notes
        notes += [f"unused waiver: {shown(u, 400)}" for u in gate.unused]
    notes += [shown(note, 400) for note in skipped_notes(report, 20)]
    static = any(t.file for t in report.targets)
    return {
        "title": title(report),
        "generated_at": shown(report.generated_at, 40),
        "tool_version": shown(report.tool_version, 40),
        "endpoint": shown(f"{report.source.value} {report.endpoint}".strip(), 300),
        "verdict": verdict(report),
        "verdict_class": "info" if gate is None else ("pass" if gate.passed else "fail"),
        "cards": cards,
        "notes": notes,
        "severities": [s.value for s in Severity],
        "hosts": [
            {
                "host": shown(h.host, 80),
                "targets": h.targets,
                "failed": [h.failed[s] for s in Severity],
                "score": "?" if h.score is None else h.score,
            }
            for h in host_rows(report)
        ]
        if len(report.hosts) > 1
        else [],
        "rules": [
            {
                "id": r.rule.id,
                "severity": r.rule.severity.value,
                "failed": r.failed,
                "waived": r.waived,
                "errors": r.errors,
                "title": shown(r.rule.title, 200),
                "rationale": shown(" ".join(r.rule.rationale.split()), 2000),
                "refs": shown(" · ".join(references_text(r.rule)), 400),
                "url": docs_url(r.rule.id, docs),
            }
            for r in rule_rows(report)
        ],
        "static": static,
        "engines": [_target(t, static) for t in report.targets if t.kind is TargetKind.HOST],
        "targets": [_target(t, static) for t in report.targets if t.kind is not TargetKind.HOST],
        "findings": [
            {
                "severity": r.finding.rule.severity.value,
                "status": r.finding.status.value,
                "status_label": _STATUS_LABEL.get(r.finding.status, r.finding.status.value),
                "rule": r.finding.rule.id,
                "title": shown(r.finding.rule.title, 200),
                "target": shown(r.target.name, 120),
                "where": shown(where(r), 160),
                "found": _found(r),
                "fix": shown(remediation(r.finding.rule, r.target.source), 400),
            }
            for r in rows
        ],
        "truncated": shown_count(report) - len(rows),
        "packs": ", ".join(f"{p.id} v{p.version}" for p in report.packs) or "no pack",
    }


def _target(t: TargetResult, static: bool) -> dict[str, Any]:
    return {
        "score": "?" if t.score is None else t.score,
        "name": shown((f"{t.host}: " if t.host else "") + t.name, 120),
        "where": shown((f"{t.file}:{t.line}" if t.line else t.file) if static else t.image, 120),
        "failed": [t.failed.get(s, 0) for s in Severity],
        "waived": t.counts.get(Status.WAIVED, 0),
        "errors": t.counts.get(Status.ERROR, 0),
    }


def render_html(report: Report, options: RenderOptions) -> str:
    text: str = _template().render(**context(report, options.docs_url))
    return text
