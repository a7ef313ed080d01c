"""``harden prove`` and ``harden minimize-caps``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harden.cli.console import info, literal, progress_reporter
from harden.cli.params import DURATION

if TYPE_CHECKING:
    from harden.runtime.prove.attempt import ProveTarget


def _target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("bundle", type=click.Path(path_type=Path, file_okay=False)),
        click.argument("command", nargs=-1, type=click.UNPROCESSED),
        click.option("--image", required=True, help="Image of the workload (local)."),
        click.option("--check", "check", required=True, metavar="CMD",
                     help="Shell command that must succeed while the workload runs (a "
                     "client, a test suite, an HTTP probe)."),
        click.option("--check-in", type=click.Choice(["container", "host"]),
                     default="container", show_default=True,
                     help="Run the check in a second container sharing the workload's "
                     "network namespace, or on the host inside that namespace."),
        click.option("--check-image", metavar="IMAGE",
                     help="Image of the check container (default: the workload's)."),
        click.option("--ready", metavar="CMD",
                     help="Shell command that succeeds once the workload is ready (run beside "
                     "it until it does, after it listens on the spec's ports)."),
        click.option("--ready-timeout", type=DURATION, default=30.0, show_default=True,
                     help="How long the workload may take to be ready."),
        click.option("--check-timeout", type=DURATION, default=120.0, show_default=True),
        click.option("--load", metavar="CMD",
                     help="A heavy workload to run beside the workload before the check "
                     "(separate from it: a benchmark, a migration, a batch of clients)."),
        click.option("--duration", type=DURATION,
                     help="Repeat --load until this long has passed (e.g. 60s)."),
        click.option("--restart", is_flag=True,
                     help="After the check, SIGKILL the workload, start it again under the "
                     "bundle (crash recovery) and run the check again."),
        click.option("--container-prefix", default="harden-", show_default=True,
                     help="Name prefix of the containers harden starts."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _target(bundle: Path, command: tuple[str, ...], kw: dict[str, Any]) -> ProveTarget:
    from harden.generate.reader import read_bundle  # noqa: PLC0415
    from harden.runtime.container import Where, image_config  # noqa: PLC0415
    from harden.runtime.prove.attempt import ProveTarget  # noqa: PLC0415
    from harden.system.engine import docker_client  # noqa: PLC0415

    loaded = read_bundle(bundle)
    image_config(docker_client(), kw["image"])  # a missing image is bad input (exit 2)
    return ProveTarget(
        bundle=loaded, image=kw["image"], check=kw["check"], command=command,
        check_where=Where(kw["check_in"]), check_image=kw["check_image"],
        ready_timeout=kw["ready_timeout"], check_timeout=kw["check_timeout"],
        prefix=kw["container_prefix"], load=kw["load"], load_duration=kw["duration"],
        restart=kw["restart"], ready=kw["ready"],
    )  # fmt: skip


@click.command()
@_target_options
@click.option("--no-diagnose", is_flag=True, help="On failure, do not re-run to find the cause.")
@click.option(
    "--audit-denials",
    is_flag=True,
    help="After a pass, run again with unlisted syscalls logged instead of denied and fail "
    "on any the workload made (denials the check did not notice; read in the kernel log).",
)
def prove(
    bundle: Path, command: tuple[str, ...], no_diagnose: bool, audit_denials: bool, **kw: Any
) -> None:
    """Prove that a workload still works under its BUNDLE.

    Starts the workload (IMAGE, or COMMAND after --) in the real engine with every
    layer of the bundle (seccomp, capabilities, no-new-privileges, read-only root and
    user as the spec says), waits until it listens on its spec's ports, runs the check
    and reports pass (exit 0) or fail (exit 1). On failure it re-runs the workload with
    one layer relaxed at a time, names the denied syscalls, missing capabilities or
    written paths, and prints the spec additions that fix them. A check that fails even
    without the bundle is reported as broken (exit 2).
    """
    from harden.errors import ExitCode, InputError  # noqa: PLC0415
    from harden.runtime.prove.prove import prove as run_proof  # noqa: PLC0415
    from harden.runtime.prove.report import render_proof  # noqa: PLC0415
    from harden.system.engine import docker_client  # noqa: PLC0415

    target = _target(bundle, command, kw)
    with progress_reporter() as progress:
        proof = run_proof(
            docker_client(), target, progress, explain=not no_diagnose,
            audit_denials=audit_denials,
        )  # fmt: skip
    _show(render_proof(proof))
    if proof.passed and proof.quiet:
        return
    if proof.diagnosis is not None and proof.diagnosis.broken_check:
        raise InputError(
            f"the check {target.check!r} never succeeds, even without the bundle",
            hint="fix the check (or the workload) first; the profile is not the problem",
        )
    raise SystemExit(ExitCode.FAILED)


@click.command("minimize-caps")
@_target_options
@click.option("--start", type=click.Choice(["bundle", "engine-default"]), default="bundle",
              show_default=True, help="Start from the bundle's capabilities or the engine's "
              "default set.")  # fmt: skip
@click.option(
    "--write-spec",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the bundle's spec with the proven capability set to this file.",
)
@click.option(
    "--spec",
    "source_spec",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The annotated spec the bundle came from: --write-spec then keeps its comments and "
    "origins (so spec merge can still widen it) and only replaces the capabilities.",
)
def minimize_caps(bundle: Path, command: tuple[str, ...], start: str,
                  write_spec: Path | None, source_spec: Path | None,
                  **kw: Any) -> None:  # fmt: skip
    """Find the proven-minimal capability set of a workload.

    Runs the workload under the bundle with each capability removed in turn and keeps
    a capability only if the check fails without it; prints the proof (what failed
    without each kept capability). Exit 0 when a minimal set was proven, 1 when the
    check does not pass even with the starting set.
    """
    from harden.runtime.prove.diagnose import ENGINE_DEFAULT_CAPS  # noqa: PLC0415
    from harden.runtime.prove.prove import minimize_caps as run_minimize  # noqa: PLC0415
    from harden.runtime.prove.report import render_caps  # noqa: PLC0415
    from harden.system.engine import docker_client  # noqa: PLC0415

    target = _target(bundle, command, kw)
    first = ENGINE_DEFAULT_CAPS if start == "engine-default" else None
    with progress_reporter() as progress:
        proof = run_minimize(docker_client(), target, progress, start=first)
    _show(render_caps(proof))
    evidence = {v.capability: v.evidence for v in proof.verdicts}
    if write_spec is not None and source_spec is not None:
        _write_annotated(source_spec, proof.kept, evidence, write_spec)
    elif write_spec is not None:
        _write_spec(target, proof.kept, evidence, write_spec)


def _show(text: str) -> None:
    """A report on stdout, each line shown literally (no terminal escapes)."""
    for line in text.splitlines():
        click.echo(literal(line))


def _write_spec(target: ProveTarget, kept: tuple[str, ...], evidence: dict[str, str],
                path: Path) -> None:  # fmt: skip
    import yaml  # noqa: PLC0415

    from harden.generate.files import spec_document  # noqa: PLC0415
    from harden.profile.spec import CapabilityGrant  # noqa: PLC0415
    from harden.system.files import write_file  # noqa: PLC0415

    spec = target.bundle.spec
    grants = tuple(
        CapabilityGrant(name=c, reason=f"proven: without it {evidence.get(c, 'it failed')}"[:200])
        for c in kept
    )
    doc = spec_document(spec.model_copy(update={"capabilities": grants}))
    header = "# The bundle's spec with the capability set proven minimal by harden minimize-caps.\n"
    write_file(path, header + yaml.safe_dump(doc, sort_keys=False, width=100))
    info(f"wrote {literal(str(path))}")


def _write_annotated(source: Path, kept: tuple[str, ...], evidence: dict[str, str],
                     path: Path) -> None:  # fmt: skip
    """The source spec, every comment and origin kept, with the proven capabilities."""
    from harden.profile.loader import load_spec, parse_spec  # noqa: PLC0415
    from harden.runtime.record.draft import Origin, read_draft  # noqa: PLC0415
    from harden.runtime.record.render import render  # noqa: PLC0415
    from harden.system.files import write_file  # noqa: PLC0415
    from harden.system.yaml import read_text  # noqa: PLC0415

    load_spec(source)
    draft = read_draft(read_text(source, what="workload spec"), str(source))
    old = {c["name"]: c for c in draft.data.get("capabilities") or [] if isinstance(c, dict)}
    for name in old:
        draft.notes.pop(("capabilities", name), None)
    caps = []
    for name in kept:
        why = f"proven: without it {evidence.get(name, 'it failed')}"[:200]
        caps.append({"name": name, "reason": old.get(name, {}).get("reason") or why})
        draft.note(("capabilities", name), Origin.RECORDED, f"harden minimize-caps: {why}")
    if caps:
        draft.data["capabilities"] = caps
    else:
        draft.data.pop("capabilities", None)
    text = render(draft)
    parse_spec(text, str(path))
    write_file(path, text)
    info(f"wrote {literal(str(path))} (from {literal(str(source))}, comments kept)")
