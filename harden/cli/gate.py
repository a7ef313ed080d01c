"""``harden gate``: judge manifests, compose files, inspect dumps and bundles against a policy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from harden.audit.rules.model import Severity
from harden.audit.rules.versions import KNOWN
from harden.cli.output import Output, render_to, report_options

_FAIL_ON = ("critical", "high", "medium", "low", "info", "never")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--policy",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Policy file (YAML): packs, threshold, waivers, baseline.",
)
@click.option(
    "--fail-on",
    type=click.Choice(_FAIL_ON),
    default=None,
    help="Exit 1 when a rule of this severity or worse fails [policy's, else high].",
)
@click.option(
    "--k8s-version",
    "k8s_version",
    metavar="VERSION",
    default="",
    help=f"Judge the Pod Security packs as of this Kubernetes version, {KNOWN} "
    "[policy's, else the newest].",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Accept the findings recorded in this baseline file (only new ones fail).",
)
@click.option(
    "--write-baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Record every current failure in this baseline file.",
)
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Pass when the paths hold nothing to judge (by default that is exit 3).",
)
@report_options("Table: every failing rule with its location and fix.")
def gate(
    paths: tuple[Path, ...],
    policy: Path | None,
    fail_on: str | None,
    k8s_version: str,
    fmt: str,
    outputs: tuple[Output, ...],
    baseline: Path | None,
    write_baseline: Path | None,
    allow_empty: bool,
    details: bool,
    color: bool | None,
    severities: frozenset[Severity] | None,
) -> None:
    """Check Kubernetes manifests, compose files, `docker inspect` output and harden
    bundles against a policy, with the same rules as the host audit.

    \b
    harden gate k8s/ compose.yaml --policy policy.yaml
    harden gate k8s/ --format sarif -o harden.sarif
    harden gate k8s/ --k8s-version v1.29                  Pod Security as of v1.29
    harden gate k8s/ --baseline .harden-baseline.json      fail only on new findings
    harden gate k8s/ --write-baseline .harden-baseline.json
    helm template app ./chart | harden gate -          standard input

    Exit codes: 0 the policy passes; 1 it is violated (a failure at or above the threshold,
    or a failure whose waiver expired); 2 bad usage or unreadable input (nothing written);
    3 nothing violated but some rule could not be decided, some object not read, or
    nothing to judge at all (unless --allow-empty).
    """
    from harden.errors import InputError  # noqa: PLC0415
    from harden.gate.policy import fail_on as parse_fail_on  # noqa: PLC0415
    from harden.gate.run import GateRequest, exit_code  # noqa: PLC0415
    from harden.gate.run import gate as run_gate  # noqa: PLC0415

    now = datetime.now(UTC).replace(microsecond=0)
    request = GateRequest(
        paths=paths,
        generated_at=now.isoformat().replace("+00:00", "Z"),
        today=now.date(),
        policy=policy,
        fail_on=parse_fail_on(fail_on) if fail_on is not None else "policy",
        kubernetes_version=k8s_version,
        baseline=baseline,
        write_baseline=write_baseline,
        allow_empty=allow_empty,
    )
    reports = [path for _fmt, path in outputs]
    if write_baseline is not None and any(_same(write_baseline, p) for p in reports):
        raise InputError(f"{write_baseline}: is both a report (-o) and --write-baseline")
    from harden.cli.console import progress_reporter  # noqa: PLC0415
    from harden.system.parallel import no_cycle_collection  # noqa: PLC0415

    with no_cycle_collection():  # a batch run: see no_cycle_collection
        with progress_reporter() as progress:
            report, baseline_text = run_gate(request, progress)
        from harden.cli.console import info  # noqa: PLC0415

        also = {write_baseline: baseline_text} if write_baseline and baseline_text else {}
        if not also and baseline is None and policy is not None:
            from harden.gate.run import policy_for  # noqa: PLC0415

            named = policy_for(policy).baseline
            if named is not None and not named.exists():
                info(
                    f"note: the policy's baseline {named} does not exist yet, so it accepts "
                    f"nothing; harden gate ... --write-baseline {named} writes it"
                )
        render_to(report, fmt, outputs, details, color, severities, also=also)  # all or none
        if write_baseline is not None and baseline_text is not None:
            accepted = baseline_text.count('"fingerprint"')
            info(f"wrote {write_baseline}: {accepted} failing finding(s) accepted from now on")
        click.get_current_context().exit(int(exit_code(report)))


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()
