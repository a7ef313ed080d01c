"""``harden measure-runtime``."""

from __future__ import annotations

from pathlib import Path

import click

from harden.cli.console import info, literal, progress_reporter


@click.command("measure-runtime")
@click.option(
    "--runtime",
    default="runc",
    show_default=True,
    help="OCI runtime registered with the engine (runc, crun).",
)
@click.option("--image", required=True, help="A local image with /bin/true (e.g. busybox).")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1, 50))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Syscall set file to write (e.g. profiles/syscalls/runtime-runc.yaml).",
)
@click.option(
    "--direct",
    is_flag=True,
    help="Run the runtime itself on OCI bundles instead of through the engine (for a "
    "runtime the engine cannot start here, e.g. crun on hybrid cgroups).",
)
@click.option(
    "--container-prefix",
    default="harden-",
    show_default=True,
    help="Name prefix of the containers harden starts (tests use harden-test-).",
)
def measure_runtime(
    runtime: str, image: str, rounds: int, output: Path, direct: bool, container_prefix: str
) -> None:
    """Measure which syscalls the container runtime makes after installing the seccomp
    filter (needs root and a Docker engine; briefly lifts kernel.printk_ratelimit)."""
    from harden.runtime.record.runtime_base import measure, to_set_yaml  # noqa: PLC0415
    from harden.system.engine import docker_client  # noqa: PLC0415
    from harden.system.files import write_file  # noqa: PLC0415

    client = docker_client()
    with progress_reporter() as progress:
        if direct:
            from harden.runtime.record.runtime_direct import measure_direct  # noqa: PLC0415

            result = measure_direct(
                client, image, runtime, rounds, progress, prefix=container_prefix
            )
        else:
            result = measure(client, image, runtime, rounds, progress, prefix=container_prefix)
    write_file(output, to_set_yaml(result))
    info(
        f"{literal(str(output))}: {len(result.seen)} syscalls for {runtime} "
        f"{result.runtime_version}"
    )
