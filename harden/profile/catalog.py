"""The reusable data in ``profiles/``: syscall sets and capability facts.

Both are validated strictly when loaded (unknown keys, syscall names unknown to every
architecture, capabilities unknown to the kernel) and cached for the process.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harden.errors import FileProblems, Problem
from harden.kernel import capabilities as capmod
from harden.kernel import syscalls as sc
from harden.profile.triggers import TRIGGERS
from harden.resources import data_dir
from harden.system.validation import problems_from_validation
from harden.system.yaml import load_single


class _SetIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = Field(min_length=10)
    kind: Literal["allow", "enosys"] = "allow"
    implied_by: tuple[str, ...] = ()
    measured: dict[str, str] | None = None
    syscalls: dict[str, str]


class _CapIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str
    risk: Literal["critical", "high", "medium", "low"]
    pss_baseline: bool = False
    syscalls: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyscallSet:
    """A named group of syscalls with a reason for each."""

    name: str
    description: str
    kind: Literal["allow", "enosys"]
    implied_by: tuple[str, ...]
    syscalls: Mapping[str, str]
    source: str
    measured: Mapping[str, str] | None = None


@dataclass(frozen=True)
class CapabilityFacts:
    name: str
    summary: str
    risk: Literal["critical", "high", "medium", "low"]
    syscalls: tuple[str, ...]
    pss_baseline: bool = False  # in the Pod Security Standards' baseline allowed set


def _load_set(path: Path) -> SyscallSet:
    doc = load_single(path, what="syscall set")
    try:
        parsed = _SetIn.model_validate(doc.data)
    except ValidationError as exc:
        raise FileProblems(str(path), problems_from_validation(exc, doc)) from None
    problems: list[Problem] = []
    if parsed.name != path.stem:
        problems.append(
            Problem(f"name must match the file name ({path.stem})", "name", doc.line_of(("name",)))
        )
    for key in parsed.implied_by:
        if key not in TRIGGERS:
            problems.append(
                Problem(f"unknown trigger {key!r}", "implied_by", doc.line_of(("implied_by",)))
            )
    for name in parsed.syscalls:
        if not sc.known_anywhere(name):
            problems.append(
                Problem(
                    f"no architecture has a syscall named {name!r}",
                    f"syscalls.{name}",
                    doc.line_of(("syscalls", name)),
                )
            )
    if problems:
        raise FileProblems(str(path), problems)
    return SyscallSet(
        parsed.name,
        parsed.description,
        parsed.kind,
        parsed.implied_by,
        dict(parsed.syscalls),
        str(path),
        parsed.measured,
    )


@functools.cache
def syscall_sets() -> Mapping[str, SyscallSet]:
    """Every shipped syscall set by name."""
    folder = data_dir("profiles") / "syscalls"
    sets = {}
    for path in sorted(folder.glob("*.yaml")):
        loaded = _load_set(path)
        sets[loaded.name] = loaded
    return sets


@functools.cache
def capability_facts() -> Mapping[str, CapabilityFacts]:
    """What each capability allows, its risk, and the syscalls it needs."""
    return load_capability_facts(data_dir("profiles") / "capabilities.yaml")


def load_capability_facts(path: Path) -> Mapping[str, CapabilityFacts]:
    """The capability table at ``path``: every kernel capability once, with known syscalls."""
    doc = load_single(path, what="capability table")
    problems: list[Problem] = []
    facts: dict[str, CapabilityFacts] = {}
    for name, raw in doc.data.items():
        if capmod.normalise(name) != name:
            problems.append(Problem("not a kernel capability name", name, doc.line_of((name,))))
            continue
        try:
            parsed = _CapIn.model_validate(raw)
        except ValidationError as exc:
            problems.extend(
                Problem(p.message, f"{name}.{p.field}", doc.line_of((name,)))
                for p in problems_from_validation(exc, doc)
            )
            continue
        unknown = [s for s in parsed.syscalls if not sc.known_anywhere(s)]
        if unknown:
            message = f"no architecture has a syscall named {unknown[0]!r}"
            problems.append(Problem(message, f"{name}.syscalls", doc.line_of((name, "syscalls"))))
        facts[name] = CapabilityFacts(
            name, parsed.summary, parsed.risk, parsed.syscalls, parsed.pss_baseline
        )
    missing = [c for c in capmod.CAPABILITIES if c not in facts]
    if missing and not problems:
        problems.append(Problem(f"capabilities without an entry: {', '.join(missing)}"))
    if problems:
        raise FileProblems(str(path), problems)
    return facts
