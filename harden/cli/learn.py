"""``harden learn``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harden.cli.console import info, literal, warn
from harden.cli.params import DURATION

if TYPE_CHECKING:
    from harden.kernel.syscalls import Arch
    from harden.runtime.learn.propose import Proposal


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--container",
    required=True,
    metavar="NAME",
    help="The running container the bundle confines (in complain mode).",
)
@click.option(
    "--duration",
    type=DURATION,
    help="Also follow the kernel log this long (e.g. 10m) while the workload runs.",
)
@click.option(
    "--write",
    "write",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="SPEC",
    help="Add the proposals to this spec (the one the bundle came from), keeping its comments.",
)
def learn(bundle: Path, container: str, duration: float | None, write: Path | None) -> None:
    """Propose spec additions from the kernel's seccomp records of a running container.

    Generate the bundle with --complain (unlisted syscalls are logged, not denied), run
    the workload under it, then learn: every syscall the bundle would have denied is
    listed with the programs that made it and how often. Records come from /dev/kmsg
    (rate limits lifted while following; dropped records are counted: exit 3).
    """
    from harden.errors import ExitCode, InputError  # noqa: PLC0415
    from harden.generate.reader import read_bundle  # noqa: PLC0415
    from harden.layers.seccomp.model import Action  # noqa: PLC0415
    from harden.runtime.container import container_pid  # noqa: PLC0415
    from harden.runtime.learn.follow import learn as follow  # noqa: PLC0415
    from harden.runtime.learn.propose import lines  # noqa: PLC0415
    from harden.system.engine import docker_client  # noqa: PLC0415

    loaded = read_bundle(bundle)
    import docker.errors  # noqa: PLC0415

    try:
        box = docker_client().containers.get(container)
    except docker.errors.NotFound:
        raise InputError(f"no container named {container!r}", hint="docker ps lists them") from None
    init = container_pid(box)
    if not init:
        raise InputError(f"container {container!r} is not running", hint="start it first")
    if loaded.seccomp.default_action is not Action.LOG:
        warn("the bundle denies what it does not allow: only calls logged by other means "
             "show up (generate it with --complain to learn)")  # fmt: skip
    proposal = follow(init, duration)
    for line in lines(proposal):
        click.echo(literal(line))
    info(f"{proposal.records} records of {literal(container)}, "
         f"{len(lines(proposal))} syscalls to add")  # fmt: skip
    if write is not None and not proposal.empty:
        _write(write, proposal, loaded.spec.architectures)
    if proposal.dropped:
        warn(f"the kernel dropped {proposal.dropped} records (rate limit): run with --duration "
             "while the workload runs, or again")  # fmt: skip
        raise SystemExit(ExitCode.INCOMPLETE)


def _write(path: Path, proposal: Proposal, natives: Iterable[Arch]) -> None:
    from harden.profile.loader import load_spec, parse_spec  # noqa: PLC0415
    from harden.runtime.learn.propose import apply  # noqa: PLC0415
    from harden.runtime.record.draft import read_draft  # noqa: PLC0415
    from harden.runtime.record.render import render  # noqa: PLC0415
    from harden.system.files import write_file  # noqa: PLC0415
    from harden.system.yaml import read_text  # noqa: PLC0415

    load_spec(path)  # a bad spec is an input error with file and line, before anything is written
    draft = read_draft(read_text(path, what="workload spec"), str(path))
    added = apply(draft, proposal, natives)
    text = render(draft)
    parse_spec(text, str(path))  # what is written is a valid spec
    write_file(path, text)
    info(f"wrote {literal(str(path))}: added {', '.join(added) or 'nothing'}")
