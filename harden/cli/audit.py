"""``harden audit``: scan running containers (or saved inspect output) and report."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from harden.cli.output import render_to, report_options

_FAIL_ON = ("critical", "high", "medium", "low", "never")
_PROGRESS_FROM = 10  # show a progress bar from this many containers on


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[int, int, str], None]]:
    """The library's progress callback, drawn as a rich bar on a terminal's stderr."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _done, _total, _what: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415

    from harden.cli.console import stderr_console  # noqa: PLC0415
    from harden.report.text import shown  # noqa: PLC0415

    columns = (
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),  # container names are untrusted
    )
    with Progress(*columns, console=stderr_console(), transient=True) as bar:
        task = bar.add_task("", total=None, visible=False)

        def update(done: int, total: int, what: str) -> None:
            visible = total >= _PROGRESS_FROM
            bar.update(
                task, completed=done, total=total, description=shown(what, 40), visible=visible
            )

        yield update


@click.command()
@click.argument("names", nargs=-1)
@click.option(
    "--source",
    type=click.Choice(["auto", "engine", "cri", "proc"]),
    default="auto",
    show_default=True,
    help="auto: every engine found by its socket; engine: the Docker/Podman API plus /proc; "
    "cri: a Kubernetes node's runtime (containerd, CRI-O) plus /proc; proc: /proc only.",
)
@click.option(
    "--cri-socket",
    metavar="PATH",
    default="",
    help="The CRI socket (implies --source cri; default: CONTAINER_RUNTIME_ENDPOINT, "
    "else containerd's or CRI-O's socket).",
)
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Only pods of this Kubernetes namespace (repeatable; cri and auto sources).",
)
@click.option(
    "--input",
    "inputs",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Audit saved `docker inspect` / `podman inspect` JSON instead (repeatable).",
)
@click.option(
    "--pack",
    "packs",
    multiple=True,
    metavar="ID",
    help="Only these rule packs (container, kernel, daemon); repeatable.",
)
@click.option(
    "--fail-on",
    type=click.Choice(_FAIL_ON),
    default="high",
    show_default=True,
    help="Exit 1 when a rule of this severity or worse fails.",
)
@report_options("Table: list every failing rule with its evidence.")
def audit(
    names: tuple[str, ...],
    source: str,
    cri_socket: str,
    namespaces: tuple[str, ...],
    inputs: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    packs: tuple[str, ...],
    fail_on: str,
    details: bool,
    color: bool | None,
) -> None:
    """Audit containers for risk: what the engine declares, what the kernel applied, and
    the drift between them. Never changes, restarts or enters a container.

    \b
    harden audit                       every engine found here (Docker, Podman, containerd,
                                       CRI-O), every running container, worst first
    harden audit web db --format json -o host.json
    harden audit --source cri --cri-socket /run/containerd/containerd.sock
    harden audit --namespace payments  pods of one Kubernetes namespace
    harden audit --source proc         no engine API: any runtime, through /proc
    harden audit --input inspect.json  offline: saved docker/podman inspect output

    Exit codes: 0 nothing at or above --fail-on failed and everything was read; 1 a rule at
    or above --fail-on failed; 3 some facts could not be read (findings "unknown"); 4 the
    engine could not be used (report still written); 2 bad usage or input.
    """
    from harden.errors import InputError  # noqa: PLC0415

    if cri_socket and source == "auto":
        source = "cri"
    if inputs and (names or source != "auto" or namespaces):
        raise InputError(
            "--input audits saved files: it takes no NAMES, no --source and no --namespace"
        )
    if names and source not in ("auto", "engine"):
        raise InputError(
            f"NAMES select containers through the engine; --source {source} audits all"
        )
    if cri_socket and source != "cri":
        raise InputError(f"--cri-socket names a CRI runtime; --source {source} does not use one")
    if namespaces and source not in ("auto", "cri"):
        raise InputError(f"--namespace selects Kubernetes pods; --source {source} has none")
    if output is not None and output.is_dir():
        raise InputError(f"{output}: is a directory, expected a file name")
    from harden.audit.run import AuditRequest, exit_code  # noqa: PLC0415
    from harden.audit.run import audit as run_audit  # noqa: PLC0415
    from harden.audit.state.model import SourceKind  # noqa: PLC0415

    kind = SourceKind.INSPECT if inputs else SourceKind(source)
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    request = AuditRequest(
        now, kind, names, inputs, packs, cri_socket=cri_socket, namespaces=namespaces
    )
    with _progress_bar(True) as progress:
        report = run_audit(request, progress)
    from harden.audit.rules.model import Severity  # noqa: PLC0415

    render_to(report, fmt, output, details, color)
    threshold = None if fail_on == "never" else Severity(fail_on)
    click.get_current_context().exit(int(exit_code(report, threshold)))
