"""Strict YAML reading that remembers where every value came from.

Used by every loader of outside YAML (workload specs, rule packs, policies,
manifests). Only the safe subset of YAML is constructed; duplicate keys, alias
bombs, oversized files and undecodable bytes are located errors, never crashes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harden.errors import FileProblems, InputError, Problem

try:  # the C composer is much faster; fall back to pure Python when absent
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader

_RESOLVED: dict[str, str] = {}  # plain scalar -> its implicit tag
_RESOLVED_MAX = 50_000


class _Loader(_Base):  # type: ignore[valid-type,misc]
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """The tag of a node, remembered for plain scalars: the safe loader has no path
        resolvers, so a plain scalar's tag depends on its text alone, and manifests
        repeat the same keys and values (the composer asks for every one)."""
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _RESOLVED.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_RESOLVED) < _RESOLVED_MAX:
                    _RESOLVED[value] = tag
            return tag
        return super().resolve(kind, value, implicit)


PathKey = tuple[str | int, ...]

DEFAULT_MAX_BYTES = 1 << 20
DEFAULT_MAX_NODES = 200_000
_MAX_DEPTH = 64
_TOO_DEEP = f"nested deeper than {_MAX_DEPTH} levels"
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "merge")
)
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
# The text each typed tag accepts: what YAML would read as that type without a tag. An
# explicit tag on other text (`!!timestamp "x"`, `!!int ""`) is an error, not a crash.
_TYPED: dict[str, re.Pattern[str]] = {}
for _resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.values():
    for _tag, _pattern in _resolvers:
        _TYPED.setdefault(_tag, _pattern)


@dataclass(frozen=True)
class Located:
    """One YAML document as plain data plus the line of every value in it."""

    data: Any
    source: str
    lines: dict[PathKey, int] = field(repr=False)
    start_line: int = 1

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the value at ``path``, or of its nearest located parent."""
        key = tuple(path)
        while True:
            if key in self.lines:
                return self.lines[key]
            if not key:
                return None
            key = key[:-1]


class _Walker:
    """Turns composed nodes into plain data, checking keys, depth and size."""

    def __init__(self, source: str, max_nodes: int) -> None:
        self.source = source
        self.max_nodes = max_nodes
        self.count = 0
        self.lines: dict[PathKey, int] = {}
        self._scalars = yaml.constructor.SafeConstructor()

    def walk(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        line = node.start_mark.line + 1
        if self.count > self.max_nodes:
            raise FileProblems(
                self.source,
                [Problem(f"more than {self.max_nodes} values (an alias bomb?)", line=line)],
                hint="split the file or remove recursive anchors/aliases",
            )
        if len(path) > _MAX_DEPTH:
            raise FileProblems(self.source, [Problem(_TOO_DEEP, line=line)])
        self.lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and node.tag in _SCALAR_TAGS:
            return self._scalar(node, path)
        field_name = ".".join(str(p) for p in path)
        raise FileProblems(  # !!set, !!python/..., or a tag that does not fit: !!int {a: 1}
            self.source,
            [Problem(f"unsupported YAML tag {node.tag!r} here", field=field_name, line=line)],
        )

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in _merged_pairs(node):
            key = self._scalar(key_node, path)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool) or key is None:
                raise FileProblems(self.source, [Problem("keys must be plain scalars", line=line)])
            key = str(key)
            if key in out:
                field_name = ".".join(str(p) for p in (*path, key))
                raise FileProblems(
                    self.source,
                    [Problem(f"duplicate key {key!r}", field=field_name, line=line)],
                    hint="a key may appear once per mapping; the later value would be lost",
                )
            self.lines[(*path, key)] = line
            out[key] = self.walk(value_node, (*path, key))
        return out

    def _scalar(self, node: yaml.Node, path: PathKey) -> Any:
        tag = node.tag
        if tag == _STR:  # most values: no constructor needed
            return node.value
        if tag == _BOOL and node.value in _BOOLS:
            return _BOOLS[node.value]
        value = node.value
        if (
            tag == _INT
            and value.isascii()
            and value.isdigit()
            and (value[0] != "0" or value == "0")
        ):
            return int(value)  # decimal only: YAML 1.1 reads 0755 as octal, the constructor knows
        field_name = ".".join(str(p) for p in path)
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.ScalarNode):
            raise FileProblems(
                self.source, [Problem("a key must be a scalar", field=field_name, line=line)]
            )
        pattern = _TYPED.get(tag)
        if pattern is None or not pattern.match(value):
            short = tag.removeprefix("tag:yaml.org,2002:")
            problem = Problem(f"{value!r} is not a valid !!{short}", field_name, line)
            raise FileProblems(self.source, [problem])
        try:
            return self._scalars.construct_object(node)
        except yaml.constructor.ConstructorError as exc:
            problem = Problem(f"unsupported value: {exc.problem}", field_name, line)
            raise FileProblems(self.source, [problem]) from None
        except ValueError as exc:  # a timestamp-like value that is no date: 2024-13-45
            problem = Problem(f"{node.value!r} is not a valid date: {exc}", field_name, line)
            raise FileProblems(self.source, [problem]) from None


def _merged_pairs(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    """Key/value pairs with YAML merge keys (``<<``) expanded, explicit keys winning."""
    explicit = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
    seen = {k.value for k, _ in explicit if isinstance(k, yaml.ScalarNode)}
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in node.value:
        if key.tag != "tag:yaml.org,2002:merge":
            continue
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for src in sources:
            if isinstance(src, yaml.MappingNode):
                for k, v in _merged_pairs(src):
                    if isinstance(k, yaml.ScalarNode) and k.value not in seen:
                        seen.add(k.value)
                        merged.append((k, v))
    yield from explicit
    yield from merged


def read_text(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "file") -> str:
    """Read a UTF-8 text file with a size limit, as a located input error on failure."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{source}: {what} is {size} bytes; the limit is {max_bytes} bytes",
                hint="is this the right file?",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory, expected a {what}") from None
    except PermissionError:
        raise InputError(f"{source}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror}") from None
    if len(raw) > max_bytes:  # the file grew after stat (or is a special file)
        raise InputError(f"{source}: {what} is larger than {max_bytes} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileProblems(source, [Problem("not valid UTF-8 text", line=line)]) from None


def load_json(path: Path, *, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """A JSON file's value; unreadable or invalid JSON is an input error with the line."""
    return parse_json(read_text(path, max_bytes=max_bytes, what=what), str(path))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large for a number")
    return value


def parse_json(text: str | bytes, source: str, *, hint: str = "") -> Any:
    """The value of a JSON document, as strict as the standard: no NaN or Infinity, no
    number too large for a float, nesting at most as deep as YAML's; anything else is a
    located input error, never a crash in a reader that walks the value."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        problem = Problem(f"not valid JSON: {exc.msg}", line=exc.lineno)
        raise FileProblems(source, [problem], hint=hint) from None
    except RecursionError:
        raise FileProblems(source, [Problem(f"not valid JSON: {_TOO_DEEP}")], hint=hint) from None
    except ValueError as exc:  # NaN, Infinity, 1e400
        raise FileProblems(source, [Problem(f"not valid JSON: {exc}")], hint=hint) from None
    if not _shallow(value):
        raise FileProblems(source, [Problem(f"not valid JSON: {_TOO_DEEP}")], hint=hint)
    return value


def _shallow(value: Any) -> bool:
    """Whether no array or object in ``value`` is more than _MAX_DEPTH levels down."""
    stack = [(value, 0)] if type(value) is dict or type(value) is list else []
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return False
        items = node.values() if type(node) is dict else node
        stack.extend((x, depth + 1) for x in items if type(x) is dict or type(x) is list)
    return True


def parse_documents(text: str, source: str, *, max_nodes: int = DEFAULT_MAX_NODES) -> list[Located]:
    """Every document of a YAML stream, as located plain data."""
    walker = _Walker(source, max_nodes)
    docs: list[Located] = []
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            if node is None:
                continue
            walker.lines = {}
            data = walker.walk(node, ())
            docs.append(Located(data, source, walker.lines, node.start_mark.line + 1))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = exc.problem or exc.context or "invalid YAML"
        raise FileProblems(source, [Problem(f"not valid YAML: {message}", line=line)]) from None
    except yaml.YAMLError as exc:
        raise FileProblems(source, [Problem(f"not valid YAML: {exc}")]) from None
    return docs


def load_single(
    path: Path, *, what: str, max_bytes: int = DEFAULT_MAX_BYTES, max_nodes: int = DEFAULT_MAX_NODES
) -> Located:
    """Exactly one YAML document that must be a mapping."""
    source = str(path)
    docs = parse_documents(
        read_text(path, max_bytes=max_bytes, what=what), source, max_nodes=max_nodes
    )
    if len(docs) != 1:
        found = "no document" if not docs else f"{len(docs)} documents"
        raise FileProblems(source, [Problem(f"expected one {what}, found {found}")])
    if not isinstance(docs[0].data, dict):
        raise FileProblems(
            source, [Problem(f"a {what} must be a mapping of keys to values", line=1)]
        )
    return docs[0]
