"""``harden gate PATHS``: find the inputs under each path, read them, return one Scan.

Directories are walked in name order (hidden directories skipped); a directory holding a
bundle ``manifest.json`` is a bundle. Files are recognised by content: a JSON array or
object of inspect objects, YAML/JSON documents with ``kind`` (Kubernetes), a mapping
with ``services`` (compose). A file named on the command line must be one of these; in
a walked directory other YAML (Chart.yaml, CI files) is counted and left alone.

Unreadable input (malformed YAML, duplicate keys, alias bombs, an unrendered Helm
template, a file over the size limit) is an input error naming the file and line, for
every bad file at once; nothing is judged. Located problems inside readable files (an
unknown kind) are scan problems: the report says the scan is incomplete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harden.audit.sources.compose import project as compose
from harden.audit.sources.docker import inspect as inspect_input
from harden.audit.sources.interface import Progress, Scan, no_progress
from harden.audit.sources.kubernetes import manifests
from harden.audit.sources.kubernetes import objects as k8s
from harden.audit.state.model import SourceKind, TargetState
from harden.errors import FileProblems, HardenError, InputError, Problem
from harden.system.yaml import Located, parse_documents, read_text

MAX_FILE_BYTES = 8 << 20
MAX_NODES = 1_000_000
SUFFIXES = (".yaml", ".yml", ".json")
_HELM = re.compile(
    r"\{\{-?\s*(?:\.|\$|include\b|template\b|toYaml\b|if\b|range\b|with\b|end\b|define\b|tpl\b|required\b|default\b)"
)


class InputFiles(InputError):
    """Several input files could not be read; each one's problems are listed."""

    def __init__(self, errors: list[HardenError]) -> None:
        self.errors = errors
        super().__init__(
            f"{len(errors)} input file{'s' if len(errors) != 1 else ''} cannot be read"
        )

    def diagnostics(self) -> str:
        return "\n".join(e.diagnostics() for e in self.errors)


@dataclass
class Collected:
    targets: list[TargetState] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    errors: list[HardenError] = field(default_factory=list)
    ignored_files: int = 0
    ignored_kinds: dict[str, int] = field(default_factory=dict)
    files: int = 0


def is_bundle(path: Path) -> bool:
    """A directory that ``harden generate`` wrote (it holds a manifest.json)."""
    return path.is_dir() and (path / "manifest.json").is_file()


def walk(paths: tuple[Path, ...]) -> Iterator[tuple[Path, bool]]:
    """(input, named on the command line) in a stable order; bundles are yielded as dirs."""
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_file() or is_bundle(path):
            yield path, True
            continue
        for root, dirs, files in os.walk(path):
            here = Path(root)
            bundles = [d for d in dirs if is_bundle(here / d)]
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in bundles)
            for name in sorted([*files, *bundles]):
                if name in bundles or name.endswith(SUFFIXES):
                    yield here / name, False


def _helm(text: str, source: str) -> None:
    match = _HELM.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise FileProblems(
            source,
            [Problem("an unrendered Helm template ({{ ... }})", line=line)],
            hint="render it first: helm template RELEASE CHART > manifests.yaml",
        )


Keep = Callable[[TargetState], TargetState]


def _read(path: Path, named: bool, out: Collected, ignore: frozenset[str]) -> None:
    if path.is_dir():
        from harden.audit.sources import bundle  # noqa: PLC0415 - pydantic and the spec model

        out.targets.append(bundle.target(path))
        out.files += 1
        return
    text = read_text(path, max_bytes=MAX_FILE_BYTES, what="input file")
    stripped = text.lstrip()
    if (path.suffix == ".json" and stripped.startswith("[")) or _is_inspect(stripped):
        out.targets.extend(_inspect(path, text))
        out.files += 1
        return
    _helm(text, str(path))
    docs = parse_documents(text, str(path), max_nodes=MAX_NODES)
    if len(docs) == 1 and compose.is_compose(docs[0].data):
        out.targets.extend(compose.targets(docs[0]))
        out.files += 1
        return
    if docs and all(isinstance(d.data, dict) and "kind" in d.data for d in docs):
        _kubernetes(docs, out, ignore)
        out.files += 1
        return
    if named:
        raise FileProblems(
            str(path),
            [Problem("not a Kubernetes manifest, compose file or inspect output", line=1)],
            hint="harden gate reads manifests (kind:), compose files (services:), "
            "`docker inspect` JSON and bundle directories",
        )
    out.ignored_files += 1


def _is_inspect(text: str) -> bool:
    return text.startswith("{") and '"HostConfig"' in text[:200_000] and '"Id"' in text[:200_000]


def _kubernetes(docs: list[Located], out: Collected, ignore: frozenset[str]) -> None:
    found = k8s.Found()
    for doc in docs:
        k8s.find_workloads(doc, ignore, found)
    out.targets.extend(manifests.targets(found))
    for kind, count in found.ignored.items():
        out.ignored_kinds[kind] = out.ignored_kinds.get(kind, 0) + count
    out.problems.extend(p.render(docs[0].source) for p in found.problems)


def _inspect(path: Path, text: str) -> list[TargetState]:
    scanned = inspect_input.scan((path,))
    out = []
    for target in scanned.targets:
        at = text.find(json.dumps(target.id))
        line = text.count("\n", 0, at) + 1 if at >= 0 else None
        out.append(dataclasses.replace(target, file=str(path), line=line))
    return out


def read_inputs(
    inputs: list[tuple[Path, bool]],
    ignore_kinds: frozenset[str] = frozenset(),
    progress: Progress = no_progress,
    keep: Keep | None = None,
) -> Collected:
    """Read ``inputs`` (from :func:`walk`) in order. ``keep`` sees each target as soon as
    its file is read and returns what is held on to (the gate judges it there and keeps
    a slim copy, so that ten thousand manifests never sit in memory with all their facts)."""
    out = Collected()
    kept: list[TargetState] = []
    for done, (path, named) in enumerate(inputs):
        progress(done, len(inputs), str(path))
        try:
            _read(path, named, out, ignore_kinds)
        except HardenError as exc:
            out.errors.append(exc)
        if keep is not None and not out.errors:
            kept.extend(keep(t) for t in out.targets)
            out.targets.clear()
    if keep is not None:
        out.targets = kept
    progress(len(inputs), len(inputs), "")
    return out


def finish(out: Collected, paths: tuple[Path, ...]) -> Scan:
    """The scan of what was read; unreadable files raise (every one of them at once)."""
    if out.errors:
        raise out.errors[0] if len(out.errors) == 1 else InputFiles(out.errors)
    meta = {"files": str(out.files), "ignored_files": str(out.ignored_files)}
    if out.ignored_kinds:
        meta["ignored_kinds"] = ", ".join(f"{k} x{n}" for k, n in sorted(out.ignored_kinds.items()))
    endpoint = " ".join(str(p) for p in paths)
    return Scan(
        SourceKind.FILES, tuple(out.targets), tuple(out.problems), endpoint=endpoint, meta=meta
    )


def scan(
    paths: tuple[Path, ...],
    ignore_kinds: frozenset[str] = frozenset(),
    progress: Progress = no_progress,
    keep: Keep | None = None,
) -> Scan:
    """Every target under ``paths`` (see :func:`read_inputs` for ``keep``)."""
    return finish(read_inputs(list(walk(paths)), ignore_kinds, progress, keep), paths)
