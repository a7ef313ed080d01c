"""Reading Docker/OCI JSON seccomp profiles into the model.

Reading is strict: unknown keys, unknown actions and operators are located errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harden.errors import FileProblems, InputError, Problem
from harden.kernel.constants import EPERM
from harden.kernel.syscalls import Arch
from harden.layers.seccomp.model import (
    Action,
    ArchGroup,
    ArgCond,
    Condition,
    Op,
    Profile,
    SyscallRule,
)
from harden.system.validation import problems_from_validation
from harden.system.yaml import parse_documents, parse_json, read_text

MAX_PROFILE_BYTES = 4 << 20

_ERRNO_NAMES = {"EPERM": 1, "ENOENT": 2, "EACCES": 13, "EINVAL": 22, "ENOSYS": 38}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _ArgIn(_Strict):
    index: int = Field(ge=0, le=5)
    value: int = Field(ge=0, le=(1 << 64) - 1)
    value_two: int = Field(default=0, alias="valueTwo", ge=0, le=(1 << 64) - 1)
    op: Op


class _CondIn(_Strict):
    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: str = Field(default="", alias="minKernel")


class _RuleIn(_Strict):
    names: tuple[str, ...] = ()
    name: str = ""
    action: Action
    args: tuple[_ArgIn, ...] | None = None
    errno_ret: int | None = Field(default=None, alias="errnoRet", ge=0, le=4095)
    errno: str | None = None
    comment: str = ""
    includes: _CondIn = _CondIn()
    excludes: _CondIn = _CondIn()


class _ArchMapIn(_Strict):
    architecture: str
    sub_architectures: tuple[str, ...] | None = Field(default=None, alias="subArchitectures")


class _ProfileIn(_Strict):
    default_action: Action = Field(alias="defaultAction")
    default_errno_ret: int | None = Field(default=None, alias="defaultErrnoRet", ge=0, le=4095)
    default_errno: str | None = Field(default=None, alias="defaultErrno")
    architectures: tuple[str, ...] | None = None
    arch_map: tuple[_ArchMapIn, ...] | None = Field(default=None, alias="archMap")
    syscalls: tuple[_RuleIn, ...] | None = None
    flags: tuple[str, ...] | None = None
    listener_path: str | None = Field(default=None, alias="listenerPath")
    listener_metadata: str | None = Field(default=None, alias="listenerMetadata")
    comment: Any = None
    kind: Literal["harden.seccomp"] | None = None


def load_profile(path: Path) -> Profile:
    """A seccomp profile from a Docker or OCI JSON file."""
    source = str(path)
    text = read_text(path, max_bytes=MAX_PROFILE_BYTES, what="seccomp profile")
    return parse_profile(text, source)


def parse_profile(text: str, source: str) -> Profile:
    raw = parse_json(text, source)
    if not isinstance(raw, dict):
        raise FileProblems(source, [Problem("a seccomp profile must be a JSON object", line=1)])
    try:
        parsed = _ProfileIn.model_validate(raw)
    except ValidationError as exc:
        located = parse_documents(text, source)[0]
        raise FileProblems(
            source,
            problems_from_validation(exc, located),
            hint="see the Docker/OCI seccomp profile format",
        ) from None
    return _to_model(parsed, source)


def _errno(number: int | None, name: str | None, fallback: int) -> int:
    if number is not None:
        return number
    if name is not None:
        return _ERRNO_NAMES.get(name, fallback)
    return fallback


def _to_model(parsed: _ProfileIn, source: str) -> Profile:
    if parsed.architectures and parsed.arch_map:
        raise InputError(f"{source}: has both 'architectures' and 'archMap'; keep one")
    groups: list[ArchGroup] = []
    unknown: list[str] = []
    if parsed.arch_map:
        for entry in parsed.arch_map:
            native = Arch.from_scmp(entry.architecture)
            if native is None:
                unknown.append(entry.architecture)
                continue
            subs = tuple(
                a
                for a in (Arch.from_scmp(s) for s in entry.sub_architectures or ())
                if a is not None
            )
            groups.append(ArchGroup(native, subs))
    elif parsed.architectures:
        groups = _groups_from_flat(parsed.architectures, unknown)
    default_errno = _errno(parsed.default_errno_ret, parsed.default_errno, EPERM)
    rules = tuple(_rule(r, default_errno) for r in parsed.syscalls or ())
    return Profile(parsed.default_action, tuple(groups), rules, default_errno, tuple(unknown))


def _groups_from_flat(arches: tuple[str, ...], unknown: list[str]) -> list[ArchGroup]:
    known = [a for a in (Arch.from_scmp(n) for n in arches) if a is not None]
    unknown.extend(n for n in arches if Arch.from_scmp(n) is None)
    groups: list[ArchGroup] = []
    for native in (Arch.X86_64, Arch.AARCH64):
        members = [a for a in known if a.native is native]
        if members:
            groups.append(ArchGroup(native, tuple(a for a in members if a is not native)))
    return groups


def _rule(rule: _RuleIn, default_errno: int) -> SyscallRule:
    names = rule.names or ((rule.name,) if rule.name else ())
    errno = rule.errno_ret
    if errno is None and rule.errno is not None:
        errno = _ERRNO_NAMES.get(rule.errno, default_errno)
    args = tuple(ArgCond(a.index, a.op, a.value, a.value_two) for a in rule.args or ())
    return SyscallRule(
        names=names,
        action=rule.action,
        args=args,
        errno=errno,
        comment=rule.comment,
        includes=Condition(rule.includes.caps, rule.includes.arches, rule.includes.min_kernel),
        excludes=Condition(rule.excludes.caps, rule.excludes.arches, rule.excludes.min_kernel),
    )
