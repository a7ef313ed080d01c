"""``harden verify``: check a bundle (also after hand edits) with the real tools."""

from __future__ import annotations

from pathlib import Path

import click

from harden.cli.console import progress_reporter


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
    from harden.report.verify_text import (  # noqa: PLC0415
        VerifyOptions,
        render_verify,
        render_verify_summary,
    )
    from harden.verify.run import verify_bundle  # noqa: PLC0415

    with progress_reporter(not quiet) as progress:
        report = verify_bundle(bundle, progress)
    click.echo(render_verify(report, VerifyOptions(quiet=quiet)), nl=False)
    if not quiet:
        click.echo(render_verify_summary(report), err=True)
    raise SystemExit(int(report.exit_code))
