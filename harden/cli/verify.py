"""``harden verify``: check a bundle (also after hand edits) with the real tools."""

from __future__ import annotations

from pathlib import Path

import click

from harden.cli.console import literal, progress_reporter


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path, file_okay=False))
@click.option("--quiet", "-q", is_flag=True, help="Print only failures and conflicts.")
def verify(bundle: Path, quiet: bool) -> None:
    """Check every artefact of BUNDLE with the tool that consumes it, one line each:
    seccomp.json (libseccomp compile + BPF simulation, and the .bpf files against it),
    apparmor.profile (apparmor_parser), the SELinux module (secilc with the base
    policy), the Kubernetes/compose/OCI/SPO documents (schemas); then the layers against
    each other. Exit 1 if anything fails or contradicts, 4 if a checker is missing.
    """
    from harden.layers.interface import Verdict  # noqa: PLC0415
    from harden.verify.run import verify_bundle  # noqa: PLC0415

    with progress_reporter(not quiet) as progress:
        report = verify_bundle(bundle, progress)
    for r in report.results:
        if quiet and r.verdict is Verdict.OK:
            continue
        took = f" ({r.seconds:.2f} s)" if r.seconds >= 0.01 else ""
        click.echo(
            f"{r.verdict.value:<7} {literal(r.artefact):<26} {r.checker:<22} "
            f"{literal(r.detail.replace(chr(10), ' '))}{took}"
        )
    for f in report.conflicts:
        click.echo(f"{'CONFLICT':<7} {f.check.id:<26} {literal(f.evidence)}")
    if report.modified and not quiet:
        shown = ", ".join(literal(m) for m in report.modified)
        click.echo(f"note: edited since generated (digest differs from manifest.json): {shown}")
    if not quiet:
        failed = sum(r.verdict is not Verdict.OK for r in report.results)
        click.echo(
            f"{len(report.results)} artefacts checked, {failed} not ok; "
            f"{len(report.conflicts)} cross-layer conflicts",
            err=True,
        )
    raise SystemExit(int(report.exit_code))
