"""``harden record`` and ``harden spec merge``."""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harden.cli.console import info, literal, progress_reporter, warn
from harden.cli.params import DURATION

if TYPE_CHECKING:
    from harden.runtime.record.recorder import Recording, RecordOptions

_CLIENT_WHERE = click.Choice(["container", "host"])


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Spec file to write (YAML, annotated).",
)
@click.option(
    "--container",
    "container",
    metavar="NAME",
    help="Attach to every process of this running container (found through the "
    "engine and /proc), following new ones.",
)
@click.option(
    "--image",
    metavar="IMAGE",
    help="Start a new container of IMAGE (network none) traced from its first "
    "instruction; COMMAND overrides the image's command.",
)
@click.option(
    "--pid", type=int, metavar="PID", help="Attach to a running process and its descendants."
)
@click.option("--name", help="Workload name in the spec (default: from the output file).")
@click.option("--duration", type=DURATION, help="Stop after this long (e.g. 60s, 2m).")
@click.option(
    "--exercise",
    metavar="CMD",
    help="Shell command that exercises the workload (a client); recording stops "
    "when it ends. Runs once the workload listens.",
)
@click.option(
    "--exercise-in",
    type=_CLIENT_WHERE,
    default="container",
    show_default=True,
    help="Run the exercise in a second container sharing the workload's network "
    "namespace, or on the host inside that namespace.",
)
@click.option(
    "--exercise-image",
    metavar="IMAGE",
    help="Image of the exercise container (default: the workload's).",
)
@click.option(
    "--ready",
    metavar="CMD",
    help="Shell command that succeeds once the workload is ready (run beside it like the "
    "exercise, until it succeeds); without it the exercise starts once the workload listens.",
)
@click.option(
    "--ready-timeout",
    type=DURATION,
    default=30.0,
    show_default=True,
    help="How long to wait for the workload to be ready before the exercise.",
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "ebpf", "strace"]),
    default="auto",
    show_default=True,
    help="eBPF (bpftrace: in-kernel aggregation, capability checks, little overhead) or "
    "strace; auto takes eBPF and falls back to strace, saying why.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Also deny what the implied syscall sets allow but the workload never did "
    "(syscalls.deny). Tighter, and the first thing to break under a heavier load.",
)
@click.option("--user", help="User for --image (name or uid[:gid]; default: the image's).")
@click.option(
    "--trace-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the raw strace output in this directory.",
)
@click.option(
    "--container-prefix",
    default="harden-",
    show_default=True,
    help="Name prefix of the containers harden starts.",
)
def record(
    command: tuple[str, ...],
    output: Path,
    container: str | None,
    image: str | None,
    pid: int | None,
    name: str | None,
    duration: float | None,
    exercise: str | None,
    exercise_in: str,
    exercise_image: str | None,
    ready: str | None,
    ready_timeout: float,
    backend: str,
    strict: bool,
    user: str | None,
    trace_dir: Path | None,
    container_prefix: str,
) -> None:
    """Record what a workload does and write a workload spec for it.

    \b
      harden record -o web.yaml -- ./server --port 8080
      harden record -o web.yaml --container web --duration 60s
      harden record -o web.yaml --image web:1 --exercise 'wget -qO- http://127.0.0.1/'

    strace follows every process and thread: syscalls, files opened (with modes),
    programs run, sockets, ports bound and connected. Recording stops when the
    command exits, the exercise ends, the duration passes, or on Ctrl-C. Every item
    of the spec is annotated with where it came from. An incomplete recording (the
    workload failed or stopped, the exercise failed) is still written; exit 3.
    """
    from harden.errors import ExitCode, InputError  # noqa: PLC0415
    from harden.runtime.container import Where  # noqa: PLC0415
    from harden.runtime.record.backend import Backend  # noqa: PLC0415
    from harden.runtime.record.recorder import RecordOptions  # noqa: PLC0415

    modes = [m for m in (container, image, pid) if m is not None]
    if len(modes) > 1 or (command and (container or pid is not None)):
        raise InputError("choose one of: COMMAND, --container, --image, --pid")
    if not modes and not command:
        raise InputError("nothing to record", hint="give -- COMMAND, --container, --image or --pid")
    spec_name = name or _name_from(output)
    _check_output(output)
    work = Path(tempfile.mkdtemp(prefix="harden-record-"))
    try:
        with progress_reporter() as progress:
            opts = RecordOptions(
                work=work, duration=duration, exercise=exercise,
                exercise_where=Where(exercise_in), exercise_image=exercise_image,
                ready_timeout=ready_timeout, prefix=container_prefix, user=user,
                backend=Backend(backend), ready=ready, progress=progress,
            )  # fmt: skip
            recording = _record(command, container, image, pid, opts)
        _write(recording, output, spec_name, strict=strict)
        if trace_dir is not None:
            trace_dir.mkdir(parents=True, exist_ok=True)
            for trace in work.glob("trace.*"):
                shutil.copy2(trace, trace_dir / trace.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not recording.complete:
        for problem in recording.problems:
            warn(f"recording incomplete: {problem}")
        info(f"the partial recording is kept in {literal(str(output))}")
        raise SystemExit(ExitCode.INCOMPLETE)


def _name_from(output: Path) -> str:
    import re  # noqa: PLC0415

    stem = re.sub(r"[^a-z0-9._-]+", "-", output.stem.lower()).strip("-._")
    return stem[:63] or "workload"


def _check_output(output: Path) -> None:
    """Refuse an unwritable output before recording, so no recording is lost."""
    from harden.errors import OutputError  # noqa: PLC0415

    parent = output.parent if str(output.parent) else Path()
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{output}: cannot write into {parent}", hint="choose another -o")
    if output.is_dir():
        raise OutputError(f"{output}: is a directory, expected a file name")


def _record(
    command: tuple[str, ...],
    container: str | None,
    image: str | None,
    pid: int | None,
    opts: RecordOptions,
) -> Recording:
    from harden.runtime.record import recorder  # noqa: PLC0415

    if pid is not None:
        return recorder.record_pid(pid, opts)
    if container is None and image is None:
        return recorder.record_command(command, opts)
    from harden.runtime.record import containers  # noqa: PLC0415
    from harden.system.engine import docker_client  # noqa: PLC0415

    client: Any = docker_client()
    if container is not None:
        return containers.record_container(client, container, opts)
    assert image is not None
    return containers.record_image(client, image, command, opts)


def _write(recording: Recording, output: Path, name: str, *, strict: bool) -> None:
    from harden.runtime.record.render import render  # noqa: PLC0415
    from harden.runtime.record.tospec import draft_from_recording  # noqa: PLC0415
    from harden.system.files import write_file  # noqa: PLC0415

    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    draft = draft_from_recording(recording, name=name, when=when, strict=strict)
    text = render(draft)
    write_file(output, text)
    obs = recording.observations
    seen = len(set().union(*obs.syscalls.values())) if obs.syscalls else 0
    recorder = "eBPF" if recording.backend == "ebpf" else "strace"
    for line in recording.details:
        if line.startswith("eBPF recorder unavailable"):
            warn(line)
    info(
        f"wrote {literal(str(output))} (recorded with {recorder}): {seen} distinct syscalls, "
        f"{len(obs.listen)} listening ports, {len(obs.capability_hints)} capability hints"
        + ("; syscalls.deny trims the implied sets (--strict)" if strict else "")
    )
    for advice in draft.advice:
        info(f"to decide: {advice}")


def merge_specs(files: tuple[Path, ...], output: Path) -> None:
    """``harden spec merge``: the union of several specs, each item keeping its origin."""
    from harden.profile.loader import load_spec  # noqa: PLC0415
    from harden.runtime.record.draft import read_draft  # noqa: PLC0415
    from harden.runtime.record.merge import merge_drafts  # noqa: PLC0415
    from harden.runtime.record.render import render  # noqa: PLC0415
    from harden.system.files import write_file  # noqa: PLC0415
    from harden.system.yaml import read_text  # noqa: PLC0415

    inputs = []
    for path in files:
        load_spec(path)  # every input must be a valid spec: errors name file, line, field
        inputs.append((path.name, read_draft(read_text(path, what="workload spec"), str(path))))
    merged, warnings = merge_drafts(inputs)
    write_file(output, render(merged))
    for line in warnings:
        warn(line)
    info(f"wrote {literal(str(output))} from {len(files)} specs")
