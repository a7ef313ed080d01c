"""``--input FILE``: saved ``docker inspect`` / ``podman inspect`` output, offline.

A file that is not a JSON array (or object) of inspect objects is an input error that
names the file and line. Inside a well-formed file, an odd field only makes the facts
built from it failed (see :mod:`harden.audit.sources.docker.declared`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harden.audit.sources.docker import declared as declared_layer
from harden.audit.sources.docker.fields import EngineDefaults
from harden.audit.sources.docker.resolve import resolve_shared_namespaces
from harden.audit.sources.interface import Read, Scan
from harden.audit.state.model import (
    Gap,
    GapKind,
    Layer,
    LayerBuilder,
    SourceKind,
    TargetKind,
    TargetState,
    build_state,
)
from harden.errors import FileProblems, Problem
from harden.progress import Progress
from harden.system.yaml import parse_json, read_text

MAX_INPUT_BYTES = 256 << 20


def load_objects(path: Path) -> list[dict[str, Any]]:
    source = str(path)
    text = read_text(path, max_bytes=MAX_INPUT_BYTES, what="inspect file")
    data = parse_json(text, source, hint="save it with `docker inspect NAME... > FILE`")
    return checked_objects(data, source)


def checked_objects(data: Any, source: str) -> list[dict[str, Any]]:
    """The container inspect objects of a decoded file (an array, or one object); anything
    else in it is a located input error."""
    items = data if isinstance(data, list) else [data]
    problems = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(Problem("expected an inspect object", field=f"[{index}]"))
        elif not isinstance(item.get("Id"), str) or not isinstance(item.get("HostConfig"), dict):
            problems.append(
                Problem("not a container inspect object (no Id or HostConfig)", field=f"[{index}]")
            )
    if problems:
        raise FileProblems(
            source,
            problems,
            hint="expected `docker inspect` or `podman inspect` output for containers",
        )
    return items


def states(objects: Sequence[tuple[str, int, dict[str, Any]]]) -> list[TargetState]:
    """One target per (source, index, inspect object), with ``container:<x>`` namespace
    modes resolved across all of them."""
    layers: dict[str, tuple[LayerBuilder, LayerBuilder]] = {}
    names: dict[str, str] = {}
    defaults = EngineDefaults()
    for source, index, raw in objects:
        cid = str(raw["Id"])
        names[cid] = str(raw.get("Name") or cid[:12]).lstrip("/")
        declared = declared_layer.collect(raw, f"{source}[{index}]", defaults)
        effective = LayerBuilder(Layer.EFFECTIVE)
        effective.gaps["effective.*"] = Gap(
            GapKind.UNAVAILABLE, "a saved inspect file holds no kernel state (audit the live host)"
        )
        layers[cid] = (declared, effective)
    resolve_shared_namespaces({c: pair[0] for c, pair in layers.items()}, names, None, defaults)
    return [
        build_state(TargetKind.CONTAINER, cid, names[cid], SourceKind.INSPECT, *pair)
        for cid, pair in layers.items()
    ]


class InspectSource:
    """``--input FILE`` (see :class:`harden.audit.sources.interface.Source`): the files are
    read whole in ``plan``, since ``container:<x>`` namespace modes are resolved across
    every object; each item is then a finished target."""

    kind = SourceKind.INSPECT

    def __init__(self, paths: tuple[Path, ...]) -> None:
        self.paths = paths

    def plan(self, progress: Progress) -> list[TargetState]:
        return states(
            [(str(p), i, raw) for p in self.paths for i, raw in enumerate(load_objects(p))]
        )

    def label(self, item: TargetState) -> str:
        return item.name

    def read(self, item: TargetState) -> Read:
        return Read([item])

    def finish(self, reads: Sequence[Read]) -> Scan:
        targets = tuple(t for r in reads for t in r.targets)
        return Scan(SourceKind.INSPECT, targets, endpoint=", ".join(str(p) for p in self.paths))
