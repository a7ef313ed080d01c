"""The one error base of harden, and the exit codes the CLI maps errors to.

Every expected failure is a :class:`HardenError`; the CLI catches it once, prints
:meth:`HardenError.diagnostics` and exits with :attr:`HardenError.exit_code`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class ExitCode(enum.IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    FAILED = 1  # a check, a proof or a policy failed
    INPUT = 2  # bad usage or bad input (spec, profile, manifest, options)
    INCOMPLETE = 3  # a scan could not read everything it had to
    ENVIRONMENT = 4  # a required tool, permission or engine is missing
    INTERNAL = 70  # a bug in harden (EX_SOFTWARE): never the answer to any input
    INTERRUPTED = 130  # stopped by the user (Ctrl-C: 128 + SIGINT)


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file."""

    message: str
    field: str = ""
    line: int | None = None

    def render(self, source: str) -> str:
        where = source
        if self.line is not None:
            where = f"{where}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class HardenError(Exception):
    """Base of every error harden reports to a user."""

    exit_code: ExitCode = ExitCode.INPUT

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """A multi-line explanation for a person: what went wrong and what to do."""
        text = f"error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class InputError(HardenError):
    """An input file or option is unusable; nothing was written."""

    exit_code = ExitCode.INPUT


class FileProblems(InputError):
    """One input file has one or more located problems."""

    def __init__(self, source: str, problems: Sequence[Problem], *, hint: str = "") -> None:
        self.source = source
        self.problems = tuple(problems)
        first = problems[0].render(source) if problems else source
        super().__init__(first, hint=hint)

    def diagnostics(self) -> str:
        lines = [f"error: {p.render(self.source)}" for p in self.problems]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class Reported(InputError):
    """An error found in another process: its diagnostics and exit code, as they were."""

    def __init__(self, text: str, exit_code: ExitCode = ExitCode.INPUT) -> None:
        super().__init__(text)
        self.text = text
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[type[Reported], tuple[str, ExitCode]]:
        return Reported, (self.text, self.exit_code)

    def diagnostics(self) -> str:
        return self.text


class ToolMissing(HardenError):
    """An external program or library that this command needs is not available."""

    exit_code = ExitCode.ENVIRONMENT


class PermissionProblem(HardenError):
    """The command lacks a privilege it needs (root, ptrace, the engine socket)."""

    exit_code = ExitCode.ENVIRONMENT


class CheckFailed(HardenError):
    """A verification of a generated artefact failed: the artefact must not be used."""

    exit_code = ExitCode.FAILED


class OutputError(HardenError):
    """An output location cannot be written safely."""

    exit_code = ExitCode.INPUT
