"""``harden generate``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harden.cli.console import info, literal, progress_reporter, warn
from harden.errors import FileProblems, Problem

if TYPE_CHECKING:
    from harden.layers.interface import Unexpressible


@click.command()
@click.argument("spec_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Bundle directory to write (replaced atomically).",
)
@click.option(
    "--all",
    "all_layers",
    is_flag=True,
    help="Also generate and check AppArmor (apparmor_parser), SELinux (secilc with the base "
    "policy), the user namespace range, security-profiles-operator objects and README.txt.",
)
@click.option(
    "--userns-pool",
    type=click.Path(path_type=Path, dir_okay=False),
    help="/etc/subuid-style file to take the user namespace range from (with --all; "
    "default: useradd's range starting at 100000).",
)
@click.option(
    "--complain",
    is_flag=True,
    help="Seccomp logs the calls it does not allow (SCMP_ACT_LOG) instead of denying them: "
    "run the workload under it, then harden learn BUNDLE --container NAME. Not a confinement.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def generate(
    spec_file: Path,
    output: Path,
    all_layers: bool,
    userns_pool: Path | None,
    complain: bool,
    quiet: bool,
) -> None:
    """Generate a checked bundle from SPEC_FILE: capability whitelist, seccomp profile (JSON,
    compiled BPF and PFC per architecture, every call simulated), and the docker run,
    compose, Kubernetes and OCI forms that apply them. With --all, every other layer too.

    Nothing is written unless every artefact passes its check.
    """
    from harden.generate.bundle import build_bundle  # noqa: PLC0415
    from harden.generate.output import write_bundle  # noqa: PLC0415
    from harden.layers.interface import Unexpressible  # noqa: PLC0415
    from harden.layers.userns.parse import load_pool  # noqa: PLC0415
    from harden.profile.loader import load_spec  # noqa: PLC0415

    if userns_pool is not None and not all_layers:
        raise click.UsageError("--userns-pool needs --all")
    loaded = load_spec(spec_file)
    for problem in loaded.warnings:
        warn(problem.render(loaded.source))
    if loaded.spec.syscalls.io_uring:
        warn("syscalls.io_uring: io_uring is allowed; its operations (socket, openat, "
             "unlinkat, ...) bypass the seccomp filter, so the allow-list no longer bounds "
             "what the workload can do in the kernel")  # fmt: skip
    pool = load_pool(userns_pool) if userns_pool is not None else None
    with progress_reporter(not quiet) as progress:
        try:
            bundle = build_bundle(
                loaded.spec, progress, all_layers=all_layers, userns_pool=pool, complain=complain
            )
        except Unexpressible as exc:
            raise located(exc, spec_file) from None
        write_bundle(output, bundle.files)
    if complain:
        warn("complain mode: seccomp logs the calls it does not allow and denies none of "
             "them; learn with harden learn, then generate without --complain")  # fmt: skip
    if quiet:
        return
    manifest = bundle.manifest()
    allowed = manifest["seccomp"]["allowed_syscalls"]
    counts = ", ".join(f"{arch} {n}" for arch, n in allowed.items())
    simulated = sum(manifest["seccomp"]["simulated_calls"].values())
    caps = ", ".join(manifest["capabilities"]) or "none"
    info(f"wrote {literal(str(output))}/ ({len(bundle.files)} files) for {loaded.spec.name}")
    info(f"  capabilities kept: {caps}")
    info(
        f"  seccomp allows: {counts} syscalls; {simulated} calls simulated against the "
        "compiled BPF, all agree"
    )
    layers = manifest.get("layers")
    if layers:
        info(f"  AppArmor profile {layers['apparmor']['profile']}: apparmor_parser compiled it")
        info(
            f"  SELinux {layers['selinux']['process_type']}: secilc compiled it with the base "
            "policy"
        )
        if layers["userns"]:
            info(f"  user namespace: {layers['userns']['range']}")


def located(exc: Unexpressible, spec_file: Path) -> FileProblems:
    """The error with the spec's file and the line of the field that asked for it."""
    from harden.system.yaml import load_single  # noqa: PLC0415

    doc = load_single(spec_file, what="workload spec")
    path: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", exc.field):
        path.append(int(part[1:-1]) if part.startswith("[") else part)
    message = exc.message.removeprefix(f"{exc.field}: ")
    return FileProblems(
        str(spec_file), [Problem(message, exc.field, doc.line_of(path))], hint=exc.hint
    )
