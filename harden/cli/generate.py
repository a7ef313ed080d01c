"""``harden generate``."""

from __future__ import annotations

from pathlib import Path

import click

from harden.cli.console import info, literal, progress_reporter, warn


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
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def generate(spec_file: Path, output: Path, quiet: bool) -> None:
    """Generate a checked bundle from SPEC_FILE: capability whitelist, seccomp profile (JSON,
    compiled BPF and PFC per architecture, every call simulated), and the docker run,
    compose, Kubernetes and OCI forms that apply them.

    Nothing is written unless every artefact passes its check.
    """
    from harden.fsout import write_tree  # noqa: PLC0415
    from harden.generate.bundle import MANIFEST, build_bundle  # noqa: PLC0415
    from harden.profile.loader import load_spec  # noqa: PLC0415

    loaded = load_spec(spec_file)
    for problem in loaded.warnings:
        warn(problem.render(loaded.source))
    with progress_reporter(not quiet) as progress:
        bundle = build_bundle(loaded.spec, progress)
        write_tree(output, bundle.files, marker=MANIFEST)
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
