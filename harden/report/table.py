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

from harden.audit.model import Finding, Severity, Status
from harden.report.formats import RenderOptions
from harden.report.model import Report, TargetResult
from harden.report.text import shown
from harden.state.model import TargetKind

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


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items()) or "(none)"
    return str(value)


def _target_label(result: TargetResult) -> Text:
    if result.kind is TargetKind.HOST:
        return Text(f"host {shown(result.name, 34)}", style="bold")
    return Text(shown(result.name, 40))


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
    for result in report.targets:
        style = _STYLE[result.worst] if result.worst is not None else "green"
        score = "?" if result.score is None else str(result.score)
        cells = [Text(score, style=style), _target_label(result), Text(shown(result.image, 30))]
        cells += [Text(str(result.failed.get(s, 0) or "-")) for s in _SHOWN_SEVERITIES]
        unknown = result.counts.get(Status.ERROR, 0)
        cells += [Text(str(unknown or "-"), style="magenta" if unknown else ""), _rule_ids(result)]
        table.add_row(*cells)
    return table


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
    text.append(
        f"{report.count(Status.PASS)} passed, {report.count(Status.ERROR)} unknown, "
        f"{report.count(Status.SKIPPED)} skipped, {report.count(Status.MANUAL)} "
        "to review by hand"
    )
    return text


def _finding_lines(finding: Finding) -> list[Text]:
    rule = finding.rule
    if finding.status is Status.FAIL:
        head = Text(f"  {rule.severity.value.upper():8} ", style=_STYLE[rule.severity])
        head.append(f"{rule.id} {rule.title}")
        lines = [head]
        if finding.detail is not None:
            lines.append(Text(f"           found: {shown(_value(finding.detail), 160)}"))
        lines.append(Text(f"           fix:   {rule.remediation.docker}", style="dim"))
        return lines
    head = Text("  UNKNOWN  ", style="magenta")
    head.append(f"{rule.id} {rule.title}")
    return [head, Text(f"           why:   {shown(finding.message, 200)}", style="dim")]


def _details(report: Report) -> list[Text]:
    out: list[Text] = []
    for result in report.targets:
        shown_findings = [f for f in result.findings if f.status in (Status.FAIL, Status.ERROR)]
        if not shown_findings:
            continue
        shown_findings.sort(key=lambda f: (f.status is not Status.FAIL, -f.rule.severity.rank))
        out.append(Text(""))
        title = _target_label(result)
        if result.image:
            title.append(f"  ({shown(result.image, 60)})", style="dim")
        out.append(title)
        if result.labels:
            labels = ", ".join(f"{k}={v}" for k, v in sorted(result.labels.items()))
            out.append(Text(f"  labels: {shown(labels, 200)}", style="dim"))
        for finding in shown_findings:
            out.extend(_finding_lines(finding))
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
    console.print(Text(f"harden audit · {where} · {report.generated_at}", style="bold"))
    for problem in report.problems:
        console.print(Text(f"! {shown(problem, 300)}", style="bold magenta"))
    if report.targets:
        console.print(_table(report))
    for line in _details(report) if options.details else []:
        console.print(line, soft_wrap=True)  # long evidence stays on one line
    console.print(_summary(report))
    return buffer.getvalue()
