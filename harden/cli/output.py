"""The report options every reporting command shares, and writing the rendered report.

``-o/--output`` may be given several times, each ``FORMAT=PATH`` (``sarif=harden.sarif``)
or a plain ``PATH`` in ``--format``; ``-`` is standard output. When every report goes to
files, the console still gets the table summary with the verdict (unless ``--quiet``), so
a CI job runs the gate once for its SARIF, its JUnit and its log.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from harden.audit.rules.model import Severity
from harden.report.formats import Format

if TYPE_CHECKING:
    from harden.audit.report import Report

F = TypeVar("F", bound=Callable[..., object])
STDOUT = Path("-")
Output = tuple[Format | None, Path]  # (None: the --format), where


class OutputSpec(click.ParamType[Output]):
    """``PATH`` or ``FORMAT=PATH``."""

    name = "[FORMAT=]PATH"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None
                ) -> Output:  # fmt: skip
        if isinstance(value, tuple):
            return value
        text = str(value)
        head, sep, tail = text.partition("=")
        if sep and head in {f.value for f in Format}:
            if not tail:
                self.fail(f"{text!r}: give a file after {head}= ('-' for stdout)", param, ctx)
            return Format(head), Path(tail)
        if not text:
            self.fail("an empty output path", param, ctx)
        return None, Path(text)

    @staticmethod
    def rebase(value: str, base: Path) -> str:
        """A config file's ``FORMAT=PATH``, relative to the config file."""
        head, sep, tail = value.partition("=")
        if sep and head in {f.value for f in Format}:
            return value if tail == "-" or Path(tail).is_absolute() else f"{head}={base / tail}"
        return str(base / value)


class Severities(click.ParamType[frozenset[Severity]]):
    """``high,critical``: the severities to show."""

    name = "SEVERITY[,...]"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None
                ) -> frozenset[Severity]:  # fmt: skip
        if isinstance(value, frozenset):
            return value
        # a config file may list them (severity: [high, critical])
        text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        chosen = set()
        for part in text.replace(" ", ",").split(","):
            if not part:
                continue
            try:
                chosen.add(Severity(part.lower()))
            except ValueError:
                known = ", ".join(s.value for s in Severity)
                self.fail(f"{part!r} is not a severity ({known})", param, ctx)
        return frozenset(chosen)


def report_options(details_help: str) -> Callable[[F], F]:
    """--format, -o/--output, --details/-v, --color/--no-color and --severity."""

    def apply(command: F) -> F:
        for option in reversed(
            (
                click.option(
                    "--format",
                    "fmt",
                    type=click.Choice([f.value for f in Format]),
                    default="table",
                    show_default=True,
                    help="Report format (of stdout and of plain -o paths).",
                ),
                click.option(
                    "-o",
                    "--output",
                    "outputs",
                    type=OutputSpec(),
                    multiple=True,
                    help="Write the report here (atomically): PATH in --format, or "
                    "FORMAT=PATH; repeatable; '-' is stdout.",
                ),
                click.option("--details", "-v", is_flag=True, help=details_help),
                click.option(
                    "--color/--no-color",
                    default=None,
                    help="Table colours [NO_COLOR, else when stdout is a terminal].",
                ),
                click.option(
                    "--severity",
                    "severities",
                    type=Severities(),
                    default=None,
                    help="Show only findings of these severities (e.g. high,critical); "
                    "scores, counts and the exit code still count every finding.",
                ),
            )
        ):
            command = option(command)
        return command

    return apply


def emit(text: str, output: Path | None) -> None:
    """``text`` to ``output`` (atomically), or to stdout when it is None or ``-``."""
    if output is None or output == STDOUT:
        # color=True: click would strip the escapes on a pipe, and --color asks for them
        # there (renderers escape every untrusted character themselves)
        click.echo(text, nl=False, color=True)
        return
    from harden.system.files import write_file  # noqa: PLC0415

    write_file(output, text)


def render_to(
    report: Report,
    fmt: str,
    outputs: tuple[Output, ...],
    details: bool,
    color: bool | None,
    severities: frozenset[Severity] | None = None,
    *,
    also: Mapping[Path, str] | None = None,
) -> None:
    """Render ``report`` in each requested format to its file (or stdout); when every
    report went to a file and a FORMAT=PATH was asked for, the table summary to stdout.
    The files, and those of ``also`` (a baseline), are written together or not at all,
    before anything goes to stdout."""
    from harden.cli import console  # noqa: PLC0415
    from harden.cli.rules import docs_template  # noqa: PLC0415
    from harden.report.formats import RenderOptions, render  # noqa: PLC0415

    for _fmt, path in outputs:
        if path != STDOUT and path.is_dir():
            from harden.errors import OutputError  # noqa: PLC0415

            raise OutputError(f"{path}: is a directory, expected a file name")
    shown = _only(report, severities) if severities else report
    wanted = [(f or Format(fmt), p) for f, p in outputs] or [(Format(fmt), STDOUT)]
    to_stdout = any(p == STDOUT for _, p in wanted)
    if not to_stdout and any(f is not None for f, _ in outputs) and not console.QUIET:
        wanted.append((Format.TABLE, STDOUT))
    tty = sys.stdout.isatty()
    files: dict[Path, str] = dict(also or {})
    printed: list[str] = []
    for kind, path in wanted:
        terminal = path == STDOUT and tty
        width = shutil.get_terminal_size().columns if terminal else 120
        options = RenderOptions(
            width=max(width, 80),
            color=console.colour_wanted(terminal, color),
            details=details,
            docs_url=docs_template(),
        )
        text = render(shown, kind, options)
        if path == STDOUT:
            printed.append(text)
        else:
            files[path] = text
    if files:
        from harden.system.files import write_files  # noqa: PLC0415

        write_files(files)
    for text in printed:
        emit(text, STDOUT)


def _only(report: Report, severities: frozenset[Severity]) -> Report:
    """The report listing only findings of ``severities`` (scores and counts unchanged)."""
    import dataclasses  # noqa: PLC0415

    targets = tuple(
        dataclasses.replace(
            t, findings=tuple(f for f in t.findings if f.rule.severity in severities)
        )
        for t in report.targets
    )
    return dataclasses.replace(report, targets=targets)
