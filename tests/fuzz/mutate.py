"""Mutations of real inputs, as hypothesis strategies.

A case starts from a seed file of tests/data (or one derived from it), parses it, changes
its tree a few times (a value replaced by a hostile one, a key dropped or added, a value
wrapped, a list repeated), serialises it back in its own syntax, and may then change the
text itself (an explicit YAML tag, deep nesting, a cut, a flipped byte, bad UTF-8).
Hypothesis shrinks a failing case towards its seed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from hypothesis import strategies as st

Syntax = Literal["yaml", "json", "text"]  # text: lines of KEY=VALUE (.env), no tree
PathKey = tuple[str | int, ...]

# Text an attacker or a careless author puts in names, labels, paths and reasons.
HOSTILE_TEXT: tuple[str, ...] = (
    "",
    " ",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "name-\udfff-x",
    "\x1b[31mred\x1b]0;title\x07",  # terminal escapes
    "\x9b31m\x85\x8d",  # C1 controls
    "\u202eevil\u202c\u2066x\u2069",  # bidi overrides and isolates
    "\ufffe\uffff",  # XML non-characters
    "\x00\x01\x0b",
    "<script>alert(1)</script>",
    "]]><!--&amp;",
    '"quoted\\"',
    "[red]markup[/red]",
    "../../etc/passwd",
    "//double//",
    "/",
    "*",
    "**/x",
    "${HOME}",
    "$$",
    "a" * 300,
    "\u2028line\u2029sep",
    "😀",
    "true",
    "null",
    "0x10",
    "1e400",
    "-1",
    "ALL",
    "CAP_SYS_ADMIN",
    "2999-01-01",
    "expires=2000-01-01; old",
    "expires=2999-13-45; bad date",
    "expires=; x",
)

HOSTILE_NUMBERS: tuple[int | float, ...] = (
    0,
    -1,
    1,
    2**31,
    2**63,
    2**64 + 1,
    -(2**63) - 1,
    10**30,
    0.5,
    -0.0,
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
)

scalars = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_NUMBERS),
    st.booleans(),
    st.none(),
    st.text(st.characters(codec=None), max_size=12),  # any code point, surrogates included
    st.integers(),
)

values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(HOSTILE_TEXT) | st.text(max_size=8), inner, max_size=3),
    ),
    max_leaves=6,
)

# Explicit tags YAML allows before any node: the safe loader knows some, others are refused.
TAGS: tuple[str, ...] = (
    "!!timestamp",
    "!!bool",
    "!!int",
    "!!float",
    "!!null",
    "!!str",
    "!!binary",
    "!!set",
    "!!omap",
    "!!pairs",
    "!!seq",
    "!!map",
    "!!python/object:os.system",
    "!custom",
    "!<tag:example.com,2000:x>",
)


def paths(data: Any, prefix: PathKey = ()) -> list[PathKey]:
    """Every node of a parsed document, the root first."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += paths(value, (*prefix, key))
        return out
    if isinstance(data, list):
        for index, value in enumerate(data):
            out += paths(value, (*prefix, index))
    return out


def _get(data: Any, path: PathKey) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: PathKey, value: Any) -> Any:
    if not path:
        return value
    _get(data, path[:-1])[path[-1]] = value
    return data


def _delete(data: Any, path: PathKey) -> Any:
    if not path:
        return data
    del _get(data, path[:-1])[path[-1]]
    return data


@st.composite
def mutated_tree(draw: st.DrawFn, data: Any) -> Any:
    """``data`` (a fresh copy) changed one to four times."""
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths(data)))
        op = draw(st.sampled_from(("replace", "replace", "delete", "add", "wrap", "repeat")))
        node = _get(data, path)
        if op == "replace":
            data = _set(data, path, draw(values))
        elif op == "delete":
            data = _delete(data, path)
        elif op == "add" and isinstance(node, dict):
            node[
                draw(
                    st.sampled_from(HOSTILE_TEXT)
                    | st.sampled_from(list(node) or ["x"])
                    | st.text(max_size=8)
                )
            ] = draw(values)
        elif op == "add" and isinstance(node, list):
            node.insert(draw(st.integers(0, len(node))), draw(values))
        elif op == "wrap":
            data = _set(data, path, draw(st.sampled_from(([node], {"x": node}, str(node)))))
        elif op == "repeat" and isinstance(node, list) and node:
            node.extend(node * draw(st.integers(1, 3)))
    return data


def dump(data: Any, syntax: Syntax) -> str:
    if syntax == "json":
        return json.dumps(data, indent=1)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200)


@st.composite
def mutated_text(draw: st.DrawFn, text: str, syntax: Syntax) -> str:
    """A textual change that no tree can express."""
    op = draw(st.sampled_from(("tag", "nest", "number", "cut", "insert", "duplicate-line", "bom")))
    if op == "tag" and syntax == "yaml":
        lines = text.splitlines(keepends=True)
        index = draw(st.integers(0, max(len(lines) - 1, 0)))
        line = lines[index] if lines else ""
        tag = draw(st.sampled_from(TAGS))
        if ": " in line:
            head, _, tail = line.partition(": ")
            scalar = draw(st.sampled_from(('"x"', '""', "x", "1", "2024-13-45", "")))
            line = f"{head}: {tag} {scalar or tail}".rstrip("\n") + "\n"
        elif line.lstrip().startswith("- "):
            indent = line[: len(line) - len(line.lstrip())]
            line = f"{indent}- {tag} {line.lstrip()[2:]}"
        else:
            line = f"{tag} {line}"
        lines[index : index + 1] = [line]
        return "".join(lines)
    if op == "nest":
        depth = draw(st.sampled_from((50, 100, 300, 900, 1000, 5000)))
        opening = draw(st.sampled_from(("[", '{"a": ')))
        closing = "]" if opening == "[" else "}"
        return _replace_a_value(draw, text, opening * depth + "1" + closing * depth, syntax)
    if op == "number":
        number = draw(st.sampled_from(("1e400", "-1e400", ".inf", ".nan", "NaN", "Infinity", "-0")))
        return _replace_a_value(draw, text, number, syntax)
    if op == "cut":
        return text[: draw(st.integers(0, len(text)))]
    if op == "insert":
        at = draw(st.integers(0, len(text)))
        piece = draw(
            st.sampled_from(
                ("\x00", "\t", "{", "}", "[", "]", ":", ",", "\\", '"', "&a", "*a", "\ufeff", "\r")
            )
        )
        return text[:at] + piece + text[at:]
    if op == "duplicate-line":
        lines = text.splitlines(keepends=True)
        if lines:
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
        return "".join(lines)
    return "\ufeff" + text


def _replace_a_value(draw: st.DrawFn, text: str, value: str, syntax: Syntax) -> str:
    marker = {"json": '": ', "yaml": ": ", "text": "="}[syntax]
    spots = [i for i in range(len(text)) if text.startswith(marker, i)]
    if not spots:
        return value
    at = draw(st.sampled_from(spots)) + len(marker)
    end = at
    while end < len(text) and text[end] not in ",\n}":
        end += 1
    return text[:at] + value + text[end:]


@dataclass(frozen=True, repr=False)
class Seed:
    name: str
    text: str
    syntax: Syntax

    def __repr__(self) -> str:  # a failing case names its seed; the text is in tests/data
        return f"Seed({self.name!r})"

    def parsed(self) -> list[Any]:
        if self.syntax == "json":
            return [json.loads(self.text)]
        return [d for d in yaml.safe_load_all(self.text) if d is not None]


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[Seed]) -> tuple[Seed, bytes]:
    """A seed and the bytes of one mutation of it."""
    seed = draw(st.sampled_from(seeds))
    trees = ("tree", "tree", "tree", "both") if seed.syntax != "text" else ("text",) * 3
    mode = draw(st.sampled_from((*trees, "text", "bytes")))
    text = seed.text
    if mode in ("tree", "both"):
        docs = seed.parsed()
        index = draw(st.integers(0, len(docs) - 1)) if docs else 0
        if docs:
            docs[index] = draw(mutated_tree(docs[index]))
        if seed.syntax == "json":
            text = dump(docs[0] if docs else None, "json")
        else:
            text = "---\n".join(dump(d, "yaml") for d in docs)
    if mode in ("text", "both"):
        text = draw(mutated_text(text, seed.syntax))
    raw = text.encode("utf-8", "surrogatepass")
    if mode == "bytes" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    return seed, raw
