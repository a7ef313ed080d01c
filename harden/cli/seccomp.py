"""``harden diff`` and ``harden explain``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from harden.cli.console import literal

_FORMATS = click.Choice(["text", "json"])


def _caps_option(value: str) -> frozenset[str]:
    from harden.errors import InputError  # noqa: PLC0415
    from harden.kernel import capabilities as capmod  # noqa: PLC0415

    if value == "docker-default":
        return capmod.DOCKER_DEFAULT
    if value in ("", "none"):
        return frozenset()
    out = set()
    for name in value.split(","):
        canonical = capmod.normalise(name)
        if canonical is None:
            close = capmod.suggest(name)
            raise InputError(
                f"--caps: unknown capability {name!r}"
                + (f"; did you mean {close}?" if close else "")
            )
        out.add(canonical)
    return frozenset(out)


def _profile_arg(arg: str) -> tuple[str, Any]:
    from harden.layers.seccomp.builtin import resolve  # noqa: PLC0415

    if arg == "docker-default":
        engine = _engine_default()
        if engine is not None:
            return engine
        arg = "containers-common"
    path = Path(arg)
    if path.is_dir() and (path / "seccomp.json").is_file():
        return resolve(str(path / "seccomp.json"))
    return resolve(arg)


def _engine_default() -> tuple[str, Any] | None:
    """The installed engine's own default profile, or None (said) when no engine answers."""
    from harden.cli.console import warn  # noqa: PLC0415
    from harden.errors import HardenError  # noqa: PLC0415
    from harden.runtime.engine_default import engine_default  # noqa: PLC0415
    from harden.system.engine import docker_client  # noqa: PLC0415

    try:
        return engine_default(docker_client(timeout=10))
    except HardenError as exc:
        warn(f"docker-default: {exc}; comparing with containers-common's profile instead")
    except Exception as exc:  # no engine here: the installed JSON is the fallback
        warn(f"docker-default: no Docker engine answered ({type(exc).__name__}); "
             "comparing with containers-common's profile instead")  # fmt: skip
    return None


@click.command()
@click.argument("profile_a")
@click.argument("profile_b")
@click.option(
    "--caps",
    default="docker-default",
    show_default=True,
    help="Capabilities the container has, for rules with includes/excludes "
    "(comma-separated, 'none', or 'docker-default').",
)
@click.option("--arch", "arches", multiple=True, help="Only these architectures (repeatable).")
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True)
@click.option("--names/--no-names", default=True, help="List the differing syscall names.")
def diff(
    profile_a: str, profile_b: str, caps: str, arches: tuple[str, ...], fmt: str, names: bool
) -> None:
    """Compare two seccomp profiles: per architecture, what each allows that the other does
    not. A profile is a JSON file, a bundle directory, 'docker-default' (the profile the
    installed Docker engine applies, read from a probe container's OCI config; without an
    engine, containers-common's) or 'containers-common' (/usr/share/containers/seccomp.json).

    \b
    Example:
      harden diff bundle/seccomp.json docker-default
    """
    from harden.errors import InputError  # noqa: PLC0415
    from harden.kernel.syscalls import Arch  # noqa: PLC0415
    from harden.layers.seccomp.diff import diff_profiles  # noqa: PLC0415

    label_a, a = _profile_arg(profile_a)
    label_b, b = _profile_arg(profile_b)
    try:
        chosen = tuple(Arch(x) for x in arches) or None
    except ValueError:
        raise InputError(f"--arch: use one of {', '.join(a.value for a in Arch)}") from None
    result = diff_profiles(a, b, _caps_option(caps), chosen)
    if fmt == "json":
        doc = {
            "a": label_a,
            "b": label_b,
            "architectures": [
                {
                    "arch": d.arch.value,
                    "allowed_a": d.count_a,
                    "allowed_b": d.count_b,
                    "common": d.common,
                    "only_a": list(d.only_a),
                    "only_b": list(d.only_b),
                    "conditional_a": list(d.conditional_a),
                    "conditional_b": list(d.conditional_b),
                }
                for d in result
            ],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"A: {literal(label_a)}\nB: {literal(label_b)}")
    for d in result:
        ratio = f" ({d.count_a / d.count_b:.0%} of B)" if d.count_b else ""
        click.echo(
            f"\n{d.arch.value}: A allows {d.count_a}, B allows {d.count_b}{ratio}; "
            f"{d.common} in both, {len(d.only_a)} only in A, {len(d.only_b)} only in B"
        )
        if d.conditional_a:
            click.echo(f"  argument-filtered in A: {', '.join(d.conditional_a)}")
        if names and d.only_a:
            click.echo(_wrap("  only in A: ", d.only_a))
        if names and d.only_b:
            click.echo(_wrap("  only in B: ", d.only_b))


def _wrap(prefix: str, items: tuple[str, ...], width: int = 100) -> str:
    lines, line = [], prefix
    for item in items:
        if len(line) + len(item) + 2 > width and line.strip():
            lines.append(line.rstrip())
            line = " " * len(prefix)
        line += item + ", "
    lines.append(line.rstrip(", "))
    return "\n".join(lines)


@click.command()
@click.argument("profile")
@click.option(
    "--caps",
    default="none",
    show_default=True,
    help="Capabilities for rules with includes/excludes.",
)
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True)
def explain(profile: str, caps: str, fmt: str) -> None:
    """Show each syscall a seccomp profile names, what it decides, and why it is there
    (the syscall set, capability or spec entry it came from, with the set's reason).

    \b
    Example:
      harden explain bundle/seccomp.json
    """
    from harden.layers.seccomp.explain import explain as explain_profile  # noqa: PLC0415
    from harden.layers.seccomp.explain import summary  # noqa: PLC0415

    label, loaded = _profile_arg(profile)
    entries = explain_profile(loaded, _caps_option(caps))
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "profile": label,
                    "allowed": summary(loaded),
                    "syscalls": [
                        {
                            "syscall": e.syscall,
                            "decision": e.decision,
                            "origins": list(e.origins),
                            "reasons": list(e.reasons),
                            "architectures": list(e.arches),
                        }
                        for e in entries
                    ],
                },
                indent=2,
            )
        )
        return
    counts = ", ".join(f"{k} {v}" for k, v in summary(loaded).items())
    click.echo(f"{literal(label)}: allows {counts} syscalls; default {loaded.default_decision()}")
    width = max((len(e.syscall) for e in entries), default=8)
    for e in entries:
        why = "; ".join(e.reasons) or "; ".join(e.origins)
        click.echo(f"{e.syscall:<{width}}  {literal(e.decision)}")
        click.echo(f"{'':<{width}}    from {literal(', '.join(e.origins))}: {literal(why)}")
