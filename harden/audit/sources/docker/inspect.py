"""``--input FILE``: saved ``docker inspect`` / ``podman inspect`` output, offline.

A file that is not a JSON array (or object) of inspect objects is an input error that
names the file and line. Inside a well-formed file, an odd field only makes the facts
built from it failed (see :mod:`harden.audit.sources.docker.declared`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harden.audit.sources.docker import declared as declared_layer
from harden.audit.sources.docker.fields import EngineDefaults
from harden.audit.sources.docker.resolve import resolve_shared_namespaces
from harden.audit.sources.interface import Progress, Scan, no_progress
from harden.audit.state.model import (
    Gap,
    GapKind,
    Layer,
    LayerBuilder,
    SourceKind,
    TargetKind,
    build_state,
)
from harden.errors import FileProblems, Problem
from harden.system.yaml import read_text

MAX_INPUT_BYTES = 256 << 20


def load_objects(path: Path) -> list[dict[str, Any]]:
    source = str(path)
    text = read_text(path, max_bytes=MAX_INPUT_BYTES, what="inspect file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblems(
            source,
            [Problem(f"not valid JSON: {exc.msg}", line=exc.lineno)],
            hint="save it with `docker inspect NAME... > FILE`",
        ) from None
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


def scan(paths: tuple[Path, ...], progress: Progress = no_progress) -> Scan:
    objects = [(path, i, raw) for path in paths for i, raw in enumerate(load_objects(path))]
    layers: dict[str, tuple[LayerBuilder, LayerBuilder]] = {}
    names: dict[str, str] = {}
    defaults = EngineDefaults()
    for done, (path, index, raw) in enumerate(objects):
        cid = str(raw["Id"])
        names[cid] = str(raw.get("Name") or cid[:12]).lstrip("/")
        progress(done, len(objects), names[cid])
        declared = declared_layer.collect(raw, f"{path}[{index}]", defaults)
        effective = LayerBuilder(Layer.EFFECTIVE)
        effective.gaps["effective.*"] = Gap(
            GapKind.UNAVAILABLE, "a saved inspect file holds no kernel state (audit the live host)"
        )
        layers[cid] = (declared, effective)
    progress(len(objects), len(objects), "")
    resolve_shared_namespaces({cid: pair[0] for cid, pair in layers.items()}, names, None, defaults)
    targets = tuple(
        build_state(TargetKind.CONTAINER, cid, names[cid], SourceKind.INSPECT, *pair)
        for cid, pair in layers.items()
    )
    return Scan(SourceKind.INSPECT, targets, endpoint=", ".join(str(p) for p in paths))
