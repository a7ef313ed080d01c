"""The ``harden`` command line: thin click commands over the library.

Subcommands are imported only when invoked, so ``harden --help`` and
``harden --version`` stay fast. Every HardenError is caught here, once.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

import click

from harden import __version__
from harden.errors import ExitCode, HardenError

# name -> "module:function"; explicit, no import-time registration.
COMMANDS: dict[str, str] = {
    "generate": "harden.cli.generate:generate",
    "run": "harden.cli.run:run",
    "diff": "harden.cli.seccomp:diff",
    "explain": "harden.cli.seccomp:explain",
    "spec": "harden.cli.spec:spec",
    "measure-runtime": "harden.cli.measure:measure_runtime",
    "verify": "harden.cli.verify:verify",
    "userns": "harden.cli.userns:userns",
    "record": "harden.cli.record:record",
    "prove": "harden.cli.prove:prove",
    "learn": "harden.cli.learn:learn",
    "minimize-caps": "harden.cli.prove:minimize_caps",
    "audit": "harden.cli.audit:audit",
    "rules": "harden.cli.rules:rules",
    "gate": "harden.cli.gate:gate",
    "report": "harden.cli.report:report",
    "fix": "harden.cli.fix:fix",
    "completion": "harden.cli.completion:completion",
}

_SHORT_HELP: dict[str, str] = {
    "generate": "Generate a checked bundle of profiles from a workload spec.",
    "run": "Run a local command confined by a bundle.",
    "diff": "Compare two seccomp profiles per architecture.",
    "explain": "Show why each syscall of a seccomp profile is allowed.",
    "spec": "Check and merge workload specs.",
    "measure-runtime": "Measure the syscalls a container runtime needs after seccomp is on.",
    "verify": "Check every artefact of a bundle with its real tool, and the layers together.",
    "userns": "Plan non-overlapping user-namespace ID ranges for many tenants.",
    "record": "Record what a workload does and write a spec for it.",
    "prove": "Run a workload under its bundle in the engine and prove its check passes.",
    "learn": "Propose spec additions from a complain-mode bundle's kernel records.",
    "minimize-caps": "Drop each capability in turn; keep only those the check needs.",
    "audit": "Audit running containers: declared config, kernel truth and drift.",
    "rules": "List and show the audit rules.",
    "gate": "CI gate: check manifests, compose files and bundles against a policy.",
    "report": "Merge host reports into one fleet report.",
    "fix": "Rewrite a compose file or Kubernetes manifest hardened (diff, patch or in place).",
    "completion": "Print the shell completion script (bash, zsh or fish).",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = __import__(module_name, fromlist=[attr])
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        conventions(command, f"HARDEN_{cmd_name}")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a HardenError becomes its diagnostics and exit code, here, once."""
        gc.enable()  # loading is over (see main); the command runs with the usual collector
        try:
            return super().invoke(ctx)
        except HardenError as exc:
            click.echo(exc.diagnostics(), err=True)
            ctx.exit(int(exc.exit_code))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _quiet(_ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    from harden.cli.console import set_quiet  # noqa: PLC0415

    if value:  # before the command (`harden -q gate`) or after it: a later absence is no "off"
        set_quiet(True)
    return value


QUIET_OPTION = click.Option(
    ["--quiet", "-q"],
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_quiet,
    envvar="HARDEN_QUIET",
    help="No progress, notes or summaries on stderr (errors and warnings still show).",
)


def long_name(option: click.Option) -> str:
    """``fail_on`` for ``--fail-on``: what the config file and variables call an option."""
    longs = [o for o in option.opts if o.startswith("--")]
    return (longs[0][2:] if longs else option.name or "").replace("-", "_")


def conventions(command: click.Command, prefix: str) -> None:
    """Every command (and subcommand) takes --quiet, and every option reads
    HARDEN_<COMMAND>_<OPTION> (named after its long flag: HARDEN_GATE_FAIL_ON)."""
    own = next((p for p in command.params if p.name == "quiet"), None)
    if own is None:
        command.params.append(QUIET_OPTION)
    elif isinstance(own, click.Option) and own.callback is None:
        own.callback = _quiet  # a command's own --quiet silences the shared notes too
    for param in command.params:
        if isinstance(param, click.Option) and param.envvar is None:
            param.envvar = f"{prefix}_{long_name(param)}".upper().replace("-", "_")
            param.show_envvar = False
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            conventions(sub, f"{prefix}_{name}")


EPILOG = """\b
Exit codes:
  0  success
  1  a check, proof or policy failed
  2  bad usage or bad input (nothing was written)
  3  a scan could not read everything (results incomplete)
  4  a required tool, permission or engine is missing
  70 internal error (a bug in harden: please report it)
  130 interrupted
"""


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="harden")
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    envvar="HARDEN_CONFIG",
    help="Option defaults per command (default: .harden.yaml from here up to the repository root).",
)
@click.option(
    "--color/--no-color",
    default=None,
    envvar="HARDEN_COLOR",
    help="Force colour on (even piped, for CI logs) or off [NO_COLOR, else a terminal].",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None, color: bool | None) -> None:
    """harden: least-privilege profiles for containers, host audit and CI gate.

    Every option also reads HARDEN_<COMMAND>_<OPTION> (HARDEN_GATE_FAIL_ON=medium) and
    .harden.yaml; the command line wins.
    """
    from harden.cli.config import load_defaults  # noqa: PLC0415
    from harden.cli.console import set_color  # noqa: PLC0415

    set_color(color)
    assert isinstance(ctx.command, click.Group)
    ctx.default_map = load_defaults(ctx.command, ctx, config)


cli.params.append(QUIET_OPTION)  # before the command too: `harden -q gate ...`


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI and turn errors into messages and exit codes."""
    # Imports make many long-lived objects: collecting while they load costs ~35 ms of a
    # 100-container audit here and frees nothing. LazyGroup.invoke turns it back on once
    # the command is loaded; a caller in the same process gets its state back.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        if enabled:
            gc.enable()


def _main(argv: list[str] | None) -> Any:
    from harden.cli.console import set_quiet  # noqa: PLC0415

    set_quiet(False)  # one command line: -q (before or after the command) turns it on
    try:
        code = cli.main(args=argv, prog_name="harden", standalone_mode=False)
    except HardenError as exc:  # raised outside a command (e.g. while parsing options)
        click.echo(exc.diagnostics(), err=True)
        sys.exit(int(exc.exit_code))
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.INPUT)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:  # e.g. `harden explain ... | head`: the reader went away
        _reader_gone()
    except Exception as exc:
        if os.environ.get("HARDEN_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "hint: this is a bug in harden; rerun with HARDEN_DEBUG=1 for a traceback "
            "and report it",
            err=True,
        )
        sys.exit(ExitCode.INTERNAL)
    try:  # what is still buffered: a reader that went away is no error either
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_gone()
    sys.exit(int(code) if isinstance(code, int) else 0)


def _reader_gone() -> None:
    """The reader of stdout stopped reading (``| head``): that is what it wanted, so
    exit 0, silently, every time (no error at exit from the unflushed rest either)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)
