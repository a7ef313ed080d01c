"""Markdown for a pull-request comment: the verdict, counts, rules and findings, size-bounded.

Every untrusted string is shown literally: control characters as escapes, HTML as
entities, Markdown punctuation backslash-escaped, ``@`` as an entity (no mentions). The
text stays under ``options.max_bytes`` (GitHub refuses comments over 65,536 characters):
the findings table is cut with a line saying how many rows were left out.
"""

from __future__ import annotations

import json

from harden.audit.report import Report
from harden.audit.rules.model import Rule, Severity, Status
from harden.report.formats import RenderOptions
from harden.report.ruledoc import docs_url
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

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;", "|": "&#124;"}
_PUNCTUATION = set("\\`*_{}[]()#+-.!~")
_MAX_CELL = 200


def md(text: str, limit: int = _MAX_CELL) -> str:
    out = []
    for ch in shown(text, limit):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _PUNCTUATION:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _head(report: Report) -> list[str]:
    lines = [f"## {title(report)}: {md(verdict(report))}", ""]
    severities = severity_counts(report)
    statuses = status_counts(report)
    lines += [
        "| targets | " + " | ".join(s.value for s in Severity) + " | waived | unknown | passed |",
        "| ---: | " + " | ".join("---:" for _ in Severity) + " | ---: | ---: | ---: |",
        f"| {len(report.targets)} | "
        + " | ".join(str(severities[s]) for s in Severity)
        + f" | {statuses[Status.WAIVED]} | {statuses[Status.ERROR]} | {statuses[Status.PASS]} |",
        "",
    ]
    gate = report.gate
    if gate is not None:
        for text in gate.expired[:20]:
            lines.append(f"- **expired waiver**: {md(text, 400)}")
        for problem in report.problems[:20]:
            lines.append(f"- **not read**: {md(problem, 400)}")
        lines += [f"- {md(note, 400)}" for note in skipped_notes(report, 10)]
        if gate.expired or report.problems or report.skipped:
            lines.append("")
    return lines


def _rules(report: Report, docs: str) -> list[str]:
    rows = rule_rows(report)
    if not rows:
        return []
    lines = [
        "### Rules",
        "",
        "| rule | severity | failed | waived | unknown | title | fix |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    lines += [
        f"| [{r.rule.id}]({docs_url(r.rule.id, docs)}) | {r.rule.severity.value} | {r.failed} "
        f"| {r.waived} | {r.errors} | {md(r.rule.title)} | {md(_fix(r.rule, report), 160)} |"
        for r in rows
    ]
    return [*lines, ""]


def _fix(rule: Rule, report: Report) -> str:
    """The fix in the form of the report's inputs (the first target's the rule is on)."""
    kinds = {t.source for t in report.targets for f in t.findings if f.rule.id == rule.id}
    source = next(iter(sorted(k for k in kinds if k is not None)), None) if kinds else None
    return remediation(rule, source)


def _hosts(report: Report) -> list[str]:
    if len(report.hosts) < 2:
        return []
    lines = [
        "### Hosts (worst first)",
        "",
        "| host | containers | critical | high | lowest score |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for h in host_rows(report)[:50]:
        score = "?" if h.score is None else str(h.score)
        lines.append(
            f"| {md(h.host, 80)} | {h.targets} | {h.failed[Severity.CRITICAL]} "
            f"| {h.failed[Severity.HIGH]} | {score} |"
        )
    return [*lines, ""]


def render_markdown(report: Report, options: RenderOptions) -> str:
    head = "\n".join(_head(report) + _hosts(report) + _rules(report, options.docs_url)) + "\n"
    rows = finding_rows(report, limit=options.max_bytes // 40)  # a row takes more than 40 bytes
    total = shown_count(report)
    table = [
        "### Findings",
        "",
        "| severity | status | rule | target | where | found |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    budget = options.max_bytes - len(head.encode()) - 200
    used = sum(len(line.encode()) + 1 for line in table)
    shown_rows = 0
    for row in rows:
        finding = row.finding
        found = (
            ""
            if finding.detail is None
            else json.dumps(finding.detail, ensure_ascii=False, default=str)
        )
        if finding.status is Status.ERROR:
            found = finding.message
        elif finding.accepted is not None:
            found = f"waived: {finding.accepted.reason}"
        line = (
            f"| {finding.rule.severity.value} | {finding.status.value} | {finding.rule.id} | "
            f"{md(row.target.name, 80)} | {md(where(row), 120)} | {md(found, 160)} |"
        )
        if used + len(line.encode()) + 1 > budget:
            break
        table.append(line)
        used += len(line.encode()) + 1
        shown_rows += 1
    if not rows:
        return head
    text = head + "\n".join(table) + "\n"
    if shown_rows < total:
        text += f"\n_{total - shown_rows} more findings are not shown here: see the full report._\n"
    return text
