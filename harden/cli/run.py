"""``harden run``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from harden.cli.console import info, literal, warn


@click.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--bundle",
    "bundle_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Bundle directory written by harden generate.",
)
@click.option(
    "--keep-user",
    is_flag=True,
    help="Stay the invoking user instead of switching to the spec's user (as root).",
)
@click.option("--verbose", "-v", is_flag=True, help="Say what is applied before exec.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(bundle_dir: Path, keep_user: bool, verbose: bool, command: tuple[str, ...]) -> None:
    """Run COMMAND confined by a bundle, in a new session (no controlling terminal): a
    private mount namespace (read-only root, files.write writable, files.tmpfs), drop
    capabilities (bounding, effective, permitted, inheritable; ambient for a non-root
    user), set no_new_privs, load the seccomp filter, then exec COMMAND. Its exit code
    is harden's. A spec field harden run cannot apply is refused (exit 2), never ignored.

    \b
    Example:
      harden run --bundle bundle/ -- ./server --port 8080
    """
    from harden.generate.reader import read_bundle  # noqa: PLC0415
    from harden.runtime.enforce.run import apply_and_run, describe, plan_run  # noqa: PLC0415

    bundle = read_bundle(bundle_dir)
    for name in bundle.modified:
        warn(f"{bundle_dir}/{name} differs from the generated file (hand-edited?)")
    plan = plan_run(bundle, command, keep_user=keep_user)
    for field in plan.unenforced:
        warn(f"{field} is not applied by harden run (it needs AppArmor or SELinux); the "
             "program's file permissions apply")  # fmt: skip
    if verbose:
        info(literal(describe(plan)))
    click.get_current_context().exit(apply_and_run(bundle, plan, os.environ))
