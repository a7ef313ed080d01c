"""``harden report merge``: many host reports (JSON) into one fleet report, in any format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from harden.audit.rules.model import Severity
from harden.cli.output import Output, render_to, report_options


@click.group()
def report() -> None:
    """Work with saved reports."""


@report.command("merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--fail-on",
    type=click.Choice(("critical", "high", "medium", "low", "never")),
    default="high",
    show_default=True,
    help="Exit 1 when a rule of this severity or worse failed on any host.",
)
@report_options("Table: every failing rule with its evidence.")
def merge(
    files: tuple[Path, ...],
    fmt: str,
    outputs: tuple[Output, ...],
    fail_on: str,
    details: bool,
    color: bool | None,
    severities: frozenset[Severity] | None,
) -> None:
    """Merge host reports (harden audit --format json, e.g. one per node) into one fleet
    report: totals, hosts worst first, per-rule counts, every target with its host.

    \b
    harden report merge node-*.json --format html -o fleet.html

    Exit codes: 0 nothing at or above --fail-on failed; 1 something did; 3 some host's
    report is incomplete; 2 a file is not a harden report (nothing written).
    """
    from harden import __version__  # noqa: PLC0415
    from harden.audit.rules.model import Severity  # noqa: PLC0415
    from harden.audit.run import exit_code  # noqa: PLC0415
    from harden.report.merge import merge as merge_reports  # noqa: PLC0415

    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    merged = merge_reports(files, generated_at=now, tool_version=__version__)
    render_to(merged, fmt, outputs, details, color, severities)
    threshold = None if fail_on == "never" else Severity(fail_on)
    click.get_current_context().exit(int(exit_code(merged, threshold)))
