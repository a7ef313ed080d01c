"""``harden gate PATHS``: find the inputs under each path, read them, return one Scan.

Every file is recognised by its content, never by its name: a JSON array or object of
``docker inspect`` objects, YAML or JSON documents that are Kubernetes objects
(``apiVersion`` and ``kind``), a mapping with ``services`` (compose), or a directory
whose ``manifest.json`` says it is a harden bundle. ``-`` is standard input; pipes and
devices (``/dev/stdin``, ``<(helm template ...)``) are read as they are. Directories are
walked in name order.

What is clearly not an input (a web app's ``manifest.json``, ``package.json``,
``Chart.yaml``, CI files, an unrendered Helm template, a hidden directory) is skipped
when met in a walked directory, and listed in the report with the reason: a repository
root can be scanned. A file named on the command line must be an input. A file that is
clearly an input but unreadable (malformed YAML in a manifest, duplicate keys, alias
bombs, a file over the size limit) is an input error naming the file and line, for every
bad file at once; nothing is judged. Empty YAML documents (a trailing ``---``) are
skipped and the rest judged. Located problems inside readable files (an unknown kind)
are scan problems: the report says the scan is incomplete.

Paths in the report are relative to the repository root (the nearest directory above
the inputs holding ``.git``), else to the directory the inputs share, and normalised:
``k8s/``, ``./k8s`` and an absolute path give the same locations and the same baseline
fingerprints.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harden.audit.sources.compose import project as compose
from harden.audit.sources.docker import inspect as inspect_input
from harden.audit.sources.interface import Read, Scan
from harden.audit.sources.kubernetes import manifests
from harden.audit.sources.kubernetes import objects as k8s
from harden.audit.state.model import SourceKind, TargetState
from harden.errors import FileProblems, HardenError, InputError, Problem
from harden.progress import Progress, no_progress
from harden.system.reading import decode_text, parse_json, read_text
from harden.system.yaml import Located, parse_documents

MAX_FILE_BYTES = 8 << 20
MAX_NODES = 1_000_000
SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"
BUNDLE_KIND = "harden.bundle"  # the "kind" of a bundle's manifest.json
_HELM = re.compile(
    r"\{\{-?\s*(?:\.|\$|include\b|template\b|toYaml\b|if\b|range\b|with\b|end\b|define\b|tpl\b|required\b|default\b)"
)
# A file that says it is an input (a top-level apiVersion/kind or services key).
HIDDEN = "hidden directory, not walked (name it to gate it)"
_LOOKS_LIKE_INPUT = re.compile(r"^(?:apiVersion|kind|services)\s*:", re.MULTILINE)


class InputFiles(InputError):
    """Several input files could not be read; each one's problems are listed."""

    def __init__(self, errors: list[HardenError]) -> None:
        self.errors = errors
        super().__init__(
            f"{len(errors)} input file{'s' if len(errors) != 1 else ''} cannot be read"
        )

    def diagnostics(self) -> str:
        return "\n".join(e.diagnostics() for e in self.errors)


@dataclass(frozen=True)
class Input:
    """One thing to read: a file, a bundle directory, or a stream read in advance."""

    path: Path | None  # None: standard input
    shown: str  # the path in the report (relative to the root)
    named: bool  # named on the command line (then it must be an input)
    text: str | None = None  # a stream's content (read once, while planning)
    bundle: bool = False


class Skip(Exception):
    """Not an input: left alone in a walked directory, with the reason; an input error
    (at ``line``, with ``hint``) for a file named on the command line."""

    def __init__(self, reason: str, *, line: int = 1, hint: str = "", plain: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.plain = plain  # the reason reads as the error itself (no "not a harden input")
        self.hint = hint or (
            "harden gate reads Kubernetes manifests (apiVersion and kind), compose files "
            "(services:), `docker inspect` JSON and bundle directories"
        )


def is_bundle(path: Path) -> bool:
    """A directory ``harden generate`` wrote: its manifest.json has the bundle's kind."""
    manifest = path / "manifest.json"
    try:
        if not manifest.is_file() or manifest.stat().st_size > 1 << 20:
            return False
        data = parse_json(manifest.read_bytes(), str(manifest))
    except (OSError, HardenError):
        return False
    return isinstance(data, dict) and data.get("kind") == BUNDLE_KIND


def root_of(paths: Sequence[Path]) -> Path:
    """Where reported paths start: the repository holding the inputs, else their common
    directory (the working directory for standard input alone)."""
    real = [p.resolve() for p in paths if str(p) != STDIN] or [Path.cwd().resolve()]
    common = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in real]))
    for folder in (common, *common.parents):
        if (folder / ".git").exists():
            return folder
    return common


def shown_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with / separators (as typed if outside the root)."""
    try:
        return path.resolve().relative_to(root).as_posix() or "."
    except ValueError:
        return os.path.normpath(path).replace(os.sep, "/")


def _classify(text: str, source: str, named: bool) -> tuple[str, Any]:
    """(kind, parsed) where kind is inspect, compose or kubernetes; raises Skip for what
    is not an input, FileProblems for YAML that cannot be read."""
    stripped = text.lstrip()
    refused: FileProblems | None = None
    if stripped.startswith(("{", "[")):
        try:
            data = parse_json(text, source)
        except FileProblems as exc:
            refused = exc  # YAML flow style, or broken: the YAML reader says which
        else:
            return _json_kind(data, text, stripped, source, named)
    match = _HELM.search(text)
    if match:
        raise Skip(
            "an unrendered Helm template ({{ ... }})",
            line=text.count("\n", 0, match.start()) + 1,
            hint="render it first: helm template RELEASE CHART > manifests.yaml",
            plain=True,
        )
    try:
        parsed = parse_documents(text, source, max_nodes=MAX_NODES)
    except FileProblems:
        if refused is not None:
            raise refused from None  # meant as JSON: its own error says more
        raise
    docs = [d for d in parsed if d.data is not None]
    if not docs:
        return "empty", None  # e.g. a chart that renders nothing: nothing to judge here
    if len(docs) == 1 and compose.is_compose(docs[0].data):
        return "compose", docs[0]
    if any(_is_object(d.data) for d in docs):
        return "kubernetes", docs
    raise Skip("YAML that is neither Kubernetes objects nor a compose file")


def _json_kind(data: Any, text: str, stripped: str, source: str, named: bool) -> tuple[str, Any]:
    items = data if isinstance(data, list) else [data]
    looks = _is_inspect if not named else lambda i: isinstance(i, dict) and "Id" in i
    if items and any(looks(i) for i in items):
        return "inspect", data  # a broken object among inspect objects is an error there
    if _is_object(data):
        return "kubernetes", parse_documents(text, source, max_nodes=MAX_NODES)
    what = "a JSON array" if stripped.startswith("[") else "a JSON object"
    raise Skip(f"{what} that is neither docker inspect output nor a Kubernetes object")


def _is_inspect(item: object) -> bool:
    return isinstance(item, dict) and "Id" in item and "HostConfig" in item


def _is_object(data: object) -> bool:
    return isinstance(data, dict) and "apiVersion" in data and isinstance(data.get("kind"), str)


def _read(item: Input, ignore: frozenset[str]) -> Read:
    if item.bundle:
        from harden.audit.sources import bundle  # noqa: PLC0415 - pydantic and the spec model

        assert item.path is not None
        target = dataclasses.replace(bundle.target(item.path), file=item.shown)
        return Read([target], counts={"files": 1})
    if item.text is not None:
        text = item.text
    else:
        assert item.path is not None
        text = read_text(item.path, max_bytes=MAX_FILE_BYTES, what="input file")
    source = str(item.path) if item.path is not None else STDIN
    try:
        kind, parsed = _classify(text, source, item.named)
    except FileProblems:
        if item.named or _LOOKS_LIKE_INPUT.search(text):
            raise  # clearly meant as an input: it must be fixed
        raise Skip("not valid YAML, and nothing in it says it is an input") from None
    if kind == "empty":
        return Read(counts={"files": 1})
    if kind == "inspect":
        return Read(_inspect(parsed, item, text), counts={"files": 1})
    if kind == "compose":
        services, problems = compose.targets(parsed)
        found = [dataclasses.replace(t, file=item.shown) for t in services]
        return Read(found, problems, counts={"files": 1})
    return _kubernetes(parsed, item, ignore)


_IGNORED_KIND = "ignored_kind:"


def _kubernetes(docs: list[Located], item: Input, ignore: frozenset[str]) -> Read:
    found = k8s.Found()
    for doc in docs:
        k8s.find_workloads(doc, ignore, found)
    counts = {"files": 1, **{_IGNORED_KIND + k: n for k, n in found.ignored.items()}}
    problems = [p.render(item.shown) for p in found.problems]
    targets = [dataclasses.replace(t, file=item.shown) for t in manifests.targets(found)]
    return Read(targets, problems, counts=counts)


def _inspect(data: Any, item: Input, text: str) -> list[TargetState]:
    objects = inspect_input.checked_objects(data, item.shown)
    out = []
    for target in inspect_input.states([(item.shown, i, o) for i, o in enumerate(objects)]):
        at = text.find(json.dumps(target.id))
        line = text.count("\n", 0, at) + 1 if at >= 0 else None
        out.append(dataclasses.replace(target, file=item.shown, line=line))
    return out


class FilesSource:
    """``harden gate PATHS`` (see :class:`harden.audit.sources.interface.Source`): each
    input file (or bundle directory) is one item."""

    kind = SourceKind.FILES

    def __init__(
        self,
        paths: tuple[Path, ...],
        ignore_kinds: frozenset[str] = frozenset(),
        contents: tuple[tuple[Path, str], ...] = (),
    ) -> None:
        self.paths = paths
        self.ignore_kinds = ignore_kinds
        # files judged with this text instead of what is on disk (harden fix judges its
        # result before writing it)
        self.contents = {p.resolve(): text for p, text in contents}
        self.root = root_of(paths)
        self._skipped: list[tuple[str, str]] = []

    def plan(self, progress: Progress) -> list[Input]:
        return list(self._walk())

    def _walk(self) -> Iterator[Input]:
        """Every input in a stable order; hidden directories and foreign files noted."""
        for path in self.paths:
            if str(path) == STDIN:
                yield Input(None, STDIN, named=True, text=_stdin())
                continue
            if not path.exists():
                raise InputError(f"{path}: no such file or directory")
            shown = shown_path(path, self.root)
            if path.is_dir():
                if is_bundle(path):
                    yield Input(path, shown, named=True, bundle=True)
                else:
                    yield from self._directory(path)
            elif path.is_file():
                yield Input(path, shown, named=True, text=self.contents.get(path.resolve()))
            else:  # a pipe or a device: readable once, so read now
                text = read_text(path, max_bytes=MAX_FILE_BYTES, what="input")
                yield Input(path, shown, named=True, text=text)

    def _directory(self, top: Path) -> Iterator[Input]:
        for root, dirs, files in os.walk(top):
            here = Path(root)
            hidden = sorted(d for d in dirs if d.startswith("."))
            self._skipped += [(shown_path(here / d, self.root), HIDDEN) for d in hidden]
            bundles = [d for d in dirs if d not in hidden and is_bundle(here / d)]
            dirs[:] = sorted(d for d in dirs if d not in hidden and d not in bundles)
            for name in sorted([*files, *bundles]):
                path = here / name
                if name in bundles:
                    yield Input(path, shown_path(path, self.root), named=False, bundle=True)
                elif name.endswith(SUFFIXES):
                    yield Input(path, shown_path(path, self.root), named=False)

    def label(self, item: Input) -> str:
        return item.shown

    def read(self, item: Input) -> Read:
        try:
            return _read(item, self.ignore_kinds)
        except Skip as skip:
            if item.named:
                message = skip.reason if skip.plain else f"not a harden input: {skip.reason}"
                problem = Problem(message, line=skip.line)
                return Read(error=FileProblems(item.shown, [problem], hint=skip.hint))
            return Read(skipped=[(item.shown, skip.reason)])
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
        skipped = [*self._skipped, *(s for r in reads for s in r.skipped)]
        meta = {"files": str(counts.get("files", 0)), "ignored_files": str(len(skipped))}
        kinds = sorted(
            (k.removeprefix(_IGNORED_KIND), n) for k, n in counts.items() if k[:13] == _IGNORED_KIND
        )
        if kinds:
            meta["ignored_kinds"] = ", ".join(f"{k} x{n}" for k, n in kinds)
        return Scan(
            SourceKind.FILES,
            tuple(t for r in reads for t in r.targets),
            tuple(p for r in reads for p in r.problems),
            endpoint=" ".join(str(p) for p in self.paths),
            meta=meta,
            skipped=tuple(sorted(skipped)),
        )


def _stdin() -> str:
    data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    return decode_text(data, STDIN, max_bytes=MAX_FILE_BYTES, what="standard input")


def scan(paths: tuple[Path, ...], ignore_kinds: frozenset[str] = frozenset()) -> Scan:
    """Every target under ``paths``, read in this process."""
    source = FilesSource(paths, ignore_kinds)
    return source.finish([source.read(item) for item in source.plan(no_progress)])
