"""The terminal report: targets worst first, a summary line, details on request.

Built from rich Text objects (never markup strings) and every untrusted string passes
through :func:`shown`, so names like ``[red]x`` or ``\\x1b]0;pwned`` print literally.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harden.audit.report import Report, ReportKind, TargetResult
from harden.audit.rules.model import Finding, Severity, Status
from harden.audit.state.model import TargetKind
from harden.report.formats import RenderOptions
from harden.report.locate import location
from harden.report.summary import SHOWN, host_rows, remediation, skipped_notes, title, verdict
from harden.report.text import shown

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_SHOWN_SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
_HEADERS = {
    Severity.CRITICAL: "CRIT",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MED",
    Severity.LOW: "LOW",
}
_MAX_IDS = 6
MAX_TARGET_ROWS = 100
_ORDER = {Status.FAIL: 0, Status.WAIVED: 1, Status.ERROR: 2}


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items()) or "(none)"
    return str(value)


def _target_label(result: TargetResult) -> Text:
    host = f"{shown(result.host, 30)}: " if result.host else ""
    if result.kind is TargetKind.HOST:
        return Text(f"{host}host {shown(result.name, 34)}", style="bold")
    return Text(host + shown(result.name, 40 if not result.file else 60))


def _rule_ids(result: TargetResult) -> Text:
    if result.unreadable:
        return Text(f"unreadable: {shown(result.unreadable, 70)}", style="magenta")
    failing = sorted(result.failing, key=lambda f: (-f.rule.severity.rank, f.rule.id))
    text = Text()
    for finding in failing[:_MAX_IDS]:
        text.append(finding.rule.id + " ", style=_STYLE[finding.rule.severity])
    if len(failing) > _MAX_IDS:
        text.append(f"+{len(failing) - _MAX_IDS}", style="dim")
    return text


def _table(report: Report) -> Table:
    table = Table(show_edge=False, box=None, pad_edge=False, header_style="bold")
    table.add_column("SCORE", justify="right")
    table.add_column("TARGET", overflow="fold")
    table.add_column("IMAGE", overflow="fold")
    for severity in _SHOWN_SEVERITIES:
        table.add_column(_HEADERS[severity], justify="right")
    table.add_column("UNKNOWN", justify="right")
    table.add_column("FAILED RULES", overflow="fold")
    for result in _listed(report):
        style = _STYLE[result.worst] if result.worst is not None else "green"
        score = "?" if result.score is None else str(result.score)
        cells = [Text(score, style=style), _target_label(result), Text(shown(result.image, 30))]
        cells += [Text(str(result.failed.get(s, 0) or "-")) for s in _SHOWN_SEVERITIES]
        unknown = result.counts.get(Status.ERROR, 0)
        cells += [Text(str(unknown or "-"), style="magenta" if unknown else ""), _rule_ids(result)]
        table.add_row(*cells)
    return table


def _listed(report: Report) -> tuple[TargetResult, ...]:
    """The rows of the table: every target of a host audit; the worst MAX_TARGET_ROWS of a
    gate or fleet report (thousands of rows help nobody in a terminal and cost seconds)."""
    if report.kind is ReportKind.AUDIT:
        return report.targets
    return report.targets[:MAX_TARGET_ROWS]


def _summary(report: Report) -> Text:
    containers = sum(1 for t in report.targets if t.kind is TargetKind.CONTAINER)
    hosts = len(report.targets) - containers
    text = Text(f"{containers} container{'s' if containers != 1 else ''}")
    if hosts:
        text.append(" and the host")
    text.append(": ")
    for severity in _SHOWN_SEVERITIES:
        text.append(f"{report.failed(severity)} {severity.value}", style=_STYLE[severity])
        text.append(", ")
    waived = report.count(Status.WAIVED)
    text.append(
        f"{report.count(Status.PASS)} passed, {report.count(Status.ERROR)} unknown, "
        f"{report.count(Status.SKIPPED)} skipped, {report.count(Status.MANUAL)} "
        "to review by hand" + (f", {waived} waived" if waived else "")
    )
    return text


def _gate_lines(report: Report) -> list[Text]:
    out: list[Text] = []
    gate = report.gate
    if gate is None:
        return out
    for expired in gate.expired:
        out.append(Text(f"! expired waiver: {shown(expired, 300)}", style="bold red"))
    for unused in gate.unused:
        out.append(Text(f"  unused waiver: {shown(unused, 300)}", style="dim"))
    style = "bold green" if gate.passed else "bold red"
    out.append(Text(f"{report.kind.value}: {verdict(report)}", style=style))
    return out


def _host_lines(report: Report) -> list[Text]:
    if len(report.hosts) < 2:
        return []
    out = [Text(f"{len(report.hosts)} hosts, worst first:", style="bold")]
    for row in host_rows(report)[:20]:
        counts = ", ".join(f"{row.failed[s]} {s.value}" for s in _SHOWN_SEVERITIES)
        score = "?" if row.score is None else str(row.score)
        out.append(
            Text(
                f"  {shown(row.host, 50)}: {row.targets} containers, {counts}, lowest score {score}"
            )
        )
    return out


def _finding_lines(result: TargetResult, finding: Finding) -> list[Text]:
    rule = finding.rule
    at = []
    if result.file:
        file, line = location(result, finding)
        at = [Text(f"           at:    {shown(file, 160)}:{line or ''}")]
    if finding.status is Status.WAIVED and finding.accepted is not None:
        head = Text("  WAIVED   ", style="dim")
        head.append(shown(f"{rule.id} {rule.title}", 200))
        accepted = finding.accepted
        why = f"{accepted.how.value}: {accepted.reason}" + (
            f" (until {accepted.expires})" if accepted.expires else ""
        )
        return [head, *at, Text(f"           why:   {shown(why, 200)}", style="dim")]
    if finding.status is Status.FAIL:
        head = Text(f"  {rule.severity.value.upper():8} ", style=_STYLE[rule.severity])
        head.append(shown(f"{rule.id} {rule.title}", 200))
        lines = [head, *at]
        if finding.detail is not None:
            lines.append(Text(f"           found: {shown(_value(finding.detail), 160)}"))
        if finding.message != rule.title:
            lines.append(Text(f"           note:  {shown(finding.message, 300)}", style="bold"))
        fix = shown(remediation(rule, result.source), 300)
        lines.append(Text(f"           fix:   {fix}", style="dim"))
        return lines
    head = Text("  UNKNOWN  ", style="magenta")
    head.append(shown(f"{rule.id} {rule.title}", 200))
    return [head, Text(f"           why:   {shown(finding.message, 200)}", style="dim")]


def _details(report: Report) -> list[Text]:
    out: list[Text] = []
    for result in report.targets:
        shown_findings = [f for f in result.findings if f.status in SHOWN]
        if not shown_findings:
            continue
        shown_findings.sort(key=lambda f: (_ORDER[f.status], -f.rule.severity.rank))
        out.append(Text(""))
        title = _target_label(result)
        if result.image:
            title.append(f"  ({shown(result.image, 60)})", style="dim")
        out.append(title)
        if result.labels:
            labels = ", ".join(f"{k}={v}" for k, v in sorted(result.labels.items()))
            out.append(Text(f"  labels: {shown(labels, 200)}", style="dim"))
        for finding in shown_findings:
            out.extend(_finding_lines(result, finding))
    return out


def render_table(report: Report, options: RenderOptions) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=options.width,
        force_terminal=options.color,
        color_system="standard" if options.color else None,
        no_color=not options.color,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    where = f"{report.source.value} {shown(report.endpoint, 60)}".rstrip()
    console.print(Text(f"{title(report)} · {where} · {report.generated_at}", style="bold"))
    for problem in report.problems:
        console.print(Text(f"! {shown(problem, 300)}", style="bold magenta"))
    for line in _host_lines(report):
        console.print(line)
    if report.targets:
        console.print(_table(report))
    hidden = len(report.targets) - len(_listed(report))
    if hidden:
        console.print(
            Text(
                f"... and {hidden} more targets (every one is in --format json, html, "
                "sarif or junit)",
                style="dim",
            )
        )
    for line in _details(report) if options.details else []:
        console.print(line, soft_wrap=True)  # long evidence stays on one line
    console.print(_summary(report), soft_wrap=True)
    for note in skipped_notes(report, 5):
        console.print(Text(shown(note, 300), style="dim"), soft_wrap=True)
    for line in _gate_lines(report):
        console.print(line, soft_wrap=True)
    return buffer.getvalue()
