"""``harden diff`` and ``harden explain``."""

from __future__ import annotations

from typing import Any

import click

from harden.report.profile_text import ProfileFormat, ProfileOptions

_FORMATS = click.Choice([f.value for f in ProfileFormat])


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


def _resolve(arg: str) -> tuple[str, Any]:
    """A profile argument; 'docker-default' is the running engine's own when one answers."""
    from harden.layers.seccomp.builtin import resolve  # noqa: PLC0415

    if arg == "docker-default":
        engine = _engine_default()
        if engine is not None:
            return engine
        arg = "containers-common"
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
    from harden.layers.seccomp.diff import compare  # noqa: PLC0415
    from harden.report.profile_text import render_diff  # noqa: PLC0415

    try:
        chosen = tuple(Arch(x) for x in arches) or None
    except ValueError:
        raise InputError(f"--arch: use one of {', '.join(a.value for a in Arch)}") from None
    result = compare(profile_a, profile_b, _caps_option(caps), chosen, resolver=_resolve)
    click.echo(render_diff(result, ProfileOptions(ProfileFormat(fmt), names)), nl=False)


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
    from harden.layers.seccomp.explain import explain_profile  # noqa: PLC0415
    from harden.report.profile_text import render_explanation  # noqa: PLC0415

    explanation = explain_profile(profile, _caps_option(caps))
    click.echo(render_explanation(explanation, ProfileOptions(ProfileFormat(fmt))), nl=False)
