"""The shape every layer has, stated once, and what the layers share.

A layer (caps, seccomp, apparmor, selinux, userns) is a package of the same modules:

    model.py   frozen dataclasses: what the builder decides, before any text exists
    build.py   ``build(spec, host) -> model``: pure (cached data and host facts in)
    render.py  ``files(model) -> {name: bytes}``: the layer's files in a bundle, and the
               one place its text is quoted or escaped
    check.py   ``check(files, host) -> [Checked]``: the real tool on those files, as
               generate writes them or as a user edited them

:class:`Layer` ties the three functions of one layer together; the registry
(:mod:`harden.layers.registry`) lists every layer once, with the ``Host`` that gives
each what it needs from the machine, and generate and verify iterate over it. Adding a
layer is adding its package and its registry line.

Every layer names its artefact after the workload the same way (``harden-<name>``),
so the AppArmor profile, the SELinux block, the security-profiles-operator objects and
the forms that refer to them always agree.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from harden.errors import HardenError, InputError, ToolMissing
from harden.profile.spec import WorkloadSpec
from harden.system.tools import ToolVerdict

PREFIX = "harden-"
M = TypeVar("M")
H = TypeVar("H")


def layer_name(spec: WorkloadSpec) -> str:
    """``harden-<name>`` with ``.`` and ``_`` turned into ``-``.

    The result is a valid AppArmor profile name, SELinux CIL block name, semodule
    module name and Kubernetes object name (DNS-1123 label) at once.
    """
    return PREFIX + spec.name.replace(".", "-").replace("_", "-")


class Unexpressible(InputError):
    """A spec asks for something a layer cannot express; nothing was written."""

    def __init__(self, layer: str, field: str, message: str, *, hint: str = "") -> None:
        self.layer = layer
        self.field = field
        super().__init__(f"{field}: {message} ({layer})", hint=hint)


class Verdict(enum.Enum):
    """What a checker said about one artefact."""

    OK = "ok"
    FAILED = "FAILED"
    ERROR = "error"  # the checker could not run (not installed): nothing is known


@dataclass(frozen=True)
class Checked:
    """One artefact through its checker. A failure is data, not an exception."""

    artefact: str
    checker: str
    verdict: Verdict
    detail: str
    seconds: float = 0.0
    made: Mapping[str, bytes] = field(default_factory=dict)  # files the check produced
    record: Mapping[str, Any] = field(default_factory=dict)  # what the manifest keeps
    hint: str = ""  # how to install a missing checker

    @classmethod
    def of(cls, artefact: str, verdict: ToolVerdict, **extra: Any) -> Checked:
        ok = Verdict.OK if verdict.ok else Verdict.FAILED
        return cls(artefact, verdict.tool, ok, verdict.detail, verdict.seconds, **extra)


def judge(artefact: str, checker: str, run: Callable[[], Checked]) -> Checked:
    """``run()``, with the artefact's errors as FAILED and a missing checker as ERROR."""
    try:
        return run()
    except ToolMissing as exc:
        return Checked(artefact, checker, Verdict.ERROR, exc.message, hint=exc.hint)
    except HardenError as exc:
        return Checked(artefact, checker, Verdict.FAILED, exc.message)


@dataclass(frozen=True)
class Layer(Generic[M, H]):
    """One layer's plug points: its pure builder and renderer, and its real checker.

    ``H`` is what the layer needs from the host: a layer that needs something states it
    as a Protocol of its own (the SELinux base policy, the ID pool) and the registry's
    ``Host`` provides them all; a layer that needs nothing takes ``object``.
    """

    build: Callable[[WorkloadSpec, H], M]
    render: Callable[[M], dict[str, bytes]]
    check: Callable[[Mapping[str, bytes], H], list[Checked]]
    core: bool = False  # generated without --all
