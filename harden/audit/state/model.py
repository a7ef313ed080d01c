"""The normalised state of one audit target, with the origin of every fact.

A target has two *layers* of facts: what its configuration **declares** (engine API,
``docker inspect`` JSON, daemon.json) and what the kernel says is in **effect** (/proc,
cgroup files, the engine's live info). Every fact carries its origin; every fact a
source could not provide carries a :class:`Gap` that says why. Rules see a third,
merged view: the effective value where there is one, else the declared one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A fact value is plain JSON-like data (what CEL and the JSON report both understand).
Value = Any


class TargetKind(enum.StrEnum):
    CONTAINER = "container"
    HOST = "host"


class Layer(enum.StrEnum):
    DECLARED = "declared"
    EFFECTIVE = "effective"


class SourceKind(enum.StrEnum):
    """Where a scan's targets came from (``harden audit --source`` / ``--input``)."""

    ENGINE = "engine"  # the engine API (Docker, or Podman's compatible socket) plus /proc
    PROC = "proc"  # /proc only: any runtime, no declared configuration
    CRI = (
        "cri"  # a Kubernetes node's runtime (containerd, CRI-O) through its CRI socket, plus /proc
    )
    AUTO = "auto"  # every engine found by its socket on this host (a report of several sources)
    INSPECT = "inspect"  # saved `docker inspect` / `podman inspect` JSON: no effective layer
    KUBERNETES = "kubernetes"  # a Kubernetes manifest (harden gate): declared layer only
    COMPOSE = "compose"  # a compose file's service (harden gate): declared layer only
    BUNDLE = "bundle"  # a bundle written by `harden generate` (harden gate)
    FILES = "files"  # a gate report: targets from any of the static kinds above
    FLEET = "fleet"  # a report merged from many host reports (harden report merge)


class GapKind(enum.StrEnum):
    UNAVAILABLE = "unavailable"  # this source cannot know the fact (a rule needing it is skipped)
    FAILED = "failed"  # the source tried and could not read it (a rule needing it is an error)


@dataclass(frozen=True, slots=True)
class Fact:
    value: Value
    origin: str  # e.g. "engine: HostConfig.CapAdd", "/proc/4242/status: CapBnd"
    line: int | None = None  # static inputs: the line of the field in the target's file


@dataclass(frozen=True, slots=True)
class InlineWaiver:
    """A waiver written in the input itself (an annotation or label), as found.

    Sources only collect the text; the gate's policy parses and judges it.
    """

    rule: str  # the rule id (or pattern) named in the key
    text: str  # the annotation/label value: "[expires=YYYY-MM-DD;] reason"
    line: int | None


@dataclass(frozen=True, slots=True)
class Gap:
    kind: GapKind
    reason: str


@dataclass(frozen=True)
class TargetState:
    """One container (or the host's engine), as every source saw it."""

    kind: TargetKind
    id: str
    name: str
    source: SourceKind
    declared: Mapping[str, Fact] = field(default_factory=dict)
    effective: Mapping[str, Fact] = field(default_factory=dict)
    # "declared.caps.added" -> why it is missing; "effective.*" covers a whole layer.
    gaps: Mapping[str, Gap] = field(default_factory=dict)
    file: str = ""  # static inputs: the file that defines the target
    line: int | None = None  # ... and the line where it starts (a container entry, a service)
    waivers: tuple[InlineWaiver, ...] = ()

    def layer(self, layer: Layer) -> Mapping[str, Fact]:
        return self.declared if layer is Layer.DECLARED else self.effective

    def fact(self, path: str) -> Fact | None:
        """The merged fact: effective if known, else declared."""
        return self.effective.get(path) or self.declared.get(path)

    def gap(self, layer: Layer, path: str) -> Gap | None:
        return self.gaps.get(f"{layer}.{path}") or self.gaps.get(f"{layer}.*")

    def label(self, key: str, default: str = "") -> str:
        fact = self.fact(key)
        return str(fact.value) if fact is not None and fact.value is not None else default


@dataclass
class LayerBuilder:
    """Collects the facts and gaps of one layer; sources use it, then freeze the result."""

    layer: Layer
    facts: dict[str, Fact] = field(default_factory=dict)
    gaps: dict[str, Gap] = field(default_factory=dict)

    def set(self, path: str, value: Value, origin: str, line: int | None = None) -> None:
        self.facts[path] = Fact(value, origin, line)
        if self.gaps:
            self.gaps.pop(f"{self.layer}.{path}", None)

    def fail(self, path: str, reason: str) -> None:
        if path not in self.facts:
            self.gaps[f"{self.layer}.{path}"] = Gap(GapKind.FAILED, reason)

    def unavailable(self, path: str, reason: str) -> None:
        if path not in self.facts:
            self.gaps[f"{self.layer}.{path}"] = Gap(GapKind.UNAVAILABLE, reason)

    def fail_all(self, paths: tuple[str, ...], reason: str) -> None:
        for path in paths:
            self.fail(path, reason)


def build_state(
    kind: TargetKind,
    id_: str,
    name: str,
    source: SourceKind,
    *layers: LayerBuilder,
    extra_gaps: Mapping[str, Gap] | None = None,
    file: str = "",
    line: int | None = None,
    waivers: tuple[InlineWaiver, ...] = (),
) -> TargetState:
    declared: dict[str, Fact] = {}
    effective: dict[str, Fact] = {}
    gaps: dict[str, Gap] = dict(extra_gaps or {})
    for builder in layers:
        (declared if builder.layer is Layer.DECLARED else effective).update(builder.facts)
        gaps.update(builder.gaps)
    return TargetState(kind, id_, name, source, declared, effective, gaps, file, line, waivers)
