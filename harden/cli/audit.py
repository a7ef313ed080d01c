"""``harden audit``: scan running containers (or saved inspect output) and report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from harden.audit.rules.model import Severity
from harden.cli.console import progress_reporter
from harden.cli.output import Output, render_to, report_options
from harden.system.engine import DEFAULT_TIMEOUT

_FAIL_ON = ("critical", "high", "medium", "low", "info", "never")


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
    default=None,
    help="Exit 1 when a rule of this severity or worse fails [policy's, else high].",
)
@click.option(
    "--policy",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Gate policy file: rules, threshold and waivers (also harden.dev/waive.RULE "
    "container labels).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Deadline to connect to the engine, and for each of its answers; an engine that "
    "misses it (or answers malformed HTTP) is not used: exit 4, with the report.",
)
@report_options("Table: list every failing rule with its evidence.")
def audit(
    names: tuple[str, ...],
    source: str,
    cri_socket: str,
    namespaces: tuple[str, ...],
    inputs: tuple[Path, ...],
    fmt: str,
    outputs: tuple[Output, ...],
    packs: tuple[str, ...],
    fail_on: str | None,
    policy: Path | None,
    timeout: float,
    details: bool,
    color: bool | None,
    severities: frozenset[Severity] | None,
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
    harden audit --policy policy.yaml  the gate's rules, threshold and waivers

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
    from harden.audit.run import AuditRequest, exit_code  # noqa: PLC0415
    from harden.audit.run import audit as run_audit  # noqa: PLC0415
    from harden.audit.state.model import SourceKind  # noqa: PLC0415

    kind = SourceKind.INSPECT if inputs else SourceKind(source)
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    request = AuditRequest(
        now,
        kind,
        names,
        inputs,
        packs,
        cri_socket=cri_socket,
        namespaces=namespaces,
        timeout=timeout,
    )
    from harden.gate.policy import fail_on as parse_fail_on  # noqa: PLC0415
    from harden.gate.run import apply_policy, policy_for  # noqa: PLC0415
    from harden.system.parallel import no_cycle_collection  # noqa: PLC0415

    with no_cycle_collection():  # a batch run: see no_cycle_collection
        with progress_reporter() as progress:
            report = run_audit(request, progress)
        chosen = policy_for(policy, parse_fail_on(fail_on) if fail_on is not None else "policy")
        report = apply_policy(report, chosen, datetime.now(UTC).date())
        render_to(report, fmt, outputs, details, color, severities)
        click.get_current_context().exit(int(exit_code(report, chosen.fail_on)))
