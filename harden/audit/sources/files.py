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
from collections.abc import Iterator, Sequence
from pathlib import Path

from harden.audit.sources.compose import project as compose
from harden.audit.sources.docker import inspect as inspect_input
from harden.audit.sources.interface import Progress, Read, Scan, no_progress
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


def _read(path: Path, named: bool, ignore: frozenset[str]) -> Read:
    if path.is_dir():
        from harden.audit.sources import bundle  # noqa: PLC0415 - pydantic and the spec model

        return Read([bundle.target(path)], counts={"files": 1})
    text = read_text(path, max_bytes=MAX_FILE_BYTES, what="input file")
    stripped = text.lstrip()
    if (path.suffix == ".json" and stripped.startswith("[")) or _is_inspect(stripped):
        return Read(_inspect(path, text), counts={"files": 1})
    _helm(text, str(path))
    docs = parse_documents(text, str(path), max_nodes=MAX_NODES)
    if len(docs) == 1 and compose.is_compose(docs[0].data):
        return Read(compose.targets(docs[0]), counts={"files": 1})
    if docs and all(isinstance(d.data, dict) and "kind" in d.data for d in docs):
        return _kubernetes(docs, ignore)
    if named:
        raise FileProblems(
            str(path),
            [Problem("not a Kubernetes manifest, compose file or inspect output", line=1)],
            hint="harden gate reads manifests (kind:), compose files (services:), "
            "`docker inspect` JSON and bundle directories",
        )
    return Read(counts={"ignored_files": 1})


def _is_inspect(text: str) -> bool:
    return text.startswith("{") and '"HostConfig"' in text[:200_000] and '"Id"' in text[:200_000]


_IGNORED_KIND = "ignored_kind:"


def _kubernetes(docs: list[Located], ignore: frozenset[str]) -> Read:
    found = k8s.Found()
    for doc in docs:
        k8s.find_workloads(doc, ignore, found)
    counts = {"files": 1, **{_IGNORED_KIND + k: n for k, n in found.ignored.items()}}
    problems = [p.render(docs[0].source) for p in found.problems]
    return Read(manifests.targets(found), problems, counts=counts)


def _inspect(path: Path, text: str) -> list[TargetState]:
    scanned = inspect_input.scan((path,))
    out = []
    for target in scanned.targets:
        at = text.find(json.dumps(target.id))
        line = text.count("\n", 0, at) + 1 if at >= 0 else None
        out.append(dataclasses.replace(target, file=str(path), line=line))
    return out


class FilesSource:
    """``harden gate PATHS`` (see :class:`harden.audit.sources.interface.Source`): each
    input file (or bundle directory) is one item."""

    kind = SourceKind.FILES

    def __init__(self, paths: tuple[Path, ...], ignore_kinds: frozenset[str] = frozenset()) -> None:
        self.paths = paths
        self.ignore_kinds = ignore_kinds

    def plan(self, progress: Progress) -> list[tuple[Path, bool]]:
        return list(walk(self.paths))

    def label(self, item: tuple[Path, bool]) -> str:
        return str(item[0])

    def read(self, item: tuple[Path, bool]) -> Read:
        path, named = item
        try:
            return _read(path, named, self.ignore_kinds)
        except HardenError as exc:
            return Read(error=exc)

    def finish(self, reads: Sequence[Read]) -> Scan:
        """The scan of what was read; unreadable files raise (every one of them at once)."""
        errors = [r.error for r in reads if r.error is not None]
        if errors:
            raise errors[0] if len(errors) == 1 else InputFiles(errors)
        counts: dict[str, int] = {}
        for read in reads:
            for key, n in read.counts.items():
                counts[key] = counts.get(key, 0) + n
        meta = {
            "files": str(counts.get("files", 0)),
            "ignored_files": str(counts.get("ignored_files", 0)),
        }
        kinds = sorted(
            (k.removeprefix(_IGNORED_KIND), n)
            for k, n in counts.items()
            if k.startswith(_IGNORED_KIND)
        )
        if kinds:
            meta["ignored_kinds"] = ", ".join(f"{k} x{n}" for k, n in kinds)
        return Scan(
            SourceKind.FILES,
            tuple(t for r in reads for t in r.targets),
            tuple(p for r in reads for p in r.problems),
            endpoint=" ".join(str(p) for p in self.paths),
            meta=meta,
        )


def scan(paths: tuple[Path, ...], ignore_kinds: frozenset[str] = frozenset()) -> Scan:
    """Every target under ``paths``, read in this process."""
    source = FilesSource(paths, ignore_kinds)
    return source.finish([source.read(item) for item in source.plan(no_progress)])
