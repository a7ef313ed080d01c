"""A YAML file as round-trip documents: edited in place, written back with its comments.

ruamel.yaml keeps comments, key order, flow and block styles and quoting. It writes a
whole document with one indentation, so each document is written back only when it was
edited, with the indentation that reproduces its original text best (tried, not
guessed: a document whose own round trip differs is reported, never silently
reformatted). Document separators and everything between documents stay as they were.
"""

from __future__ import annotations

import difflib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from harden.errors import FileProblems, Problem
from harden.system.yaml import PathKey

_SEPARATOR = re.compile(r"^(---|\.\.\.)\s*(#.*)?$")
_INDENTS = ((2, 2), (2, 0), (4, 2), (4, 0), (4, 4), (3, 0), (3, 2))  # (mapping, offset)
WIDTH = 4096  # never fold a long line the author wrote on one


def node_at(data: Any, path: PathKey) -> Any:
    """The value at ``path`` (keys and list indexes) in a document's data."""
    for key in path:
        data = data[key]
    return data


def _yaml() -> Any:
    from ruamel.yaml import YAML  # noqa: PLC0415 - only harden fix needs it

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = WIDTH
    return yaml


@dataclass
class Document:
    """One document of the file: its text as read, and its round-trip data."""

    text: str
    data: Any
    first_line: int  # 1-based line of the document's first text line in the file
    edited: bool = False
    faithful: bool = True  # written back unedited, it would be the same text

    def edit(self) -> None:
        """Note that the data is about to change (and whether a round trip keeps it)."""
        if not self.edited:
            self.faithful = _best(self) == self.text
            self.edited = True

    def node(self, path: PathKey) -> Any:
        return node_at(self.data, path)

    def render(self) -> str:
        return _best(self) if self.edited else self.text


@dataclass
class YamlFile:
    """A YAML stream: documents, and the text between them (separators, comments)."""

    source: str
    pieces: list[str | Document] = field(default_factory=list)

    @property
    def documents(self) -> list[Document]:
        return [p for p in self.pieces if isinstance(p, Document)]

    def render(self) -> str:
        return "".join(p if isinstance(p, str) else p.render() for p in self.pieces)

    def unfaithful(self) -> list[Document]:
        """Edited documents whose round trip changes lines harden did not edit."""
        return [d for d in self.documents if d.edited and not d.faithful]


def _best(doc: Document) -> str:
    return min(
        (_dump(doc.data, m, o) for m, o in _INDENTS), key=lambda t: _changed_lines(doc.text, t)
    )


def _dump(data: Any, mapping: int, offset: int) -> str:
    yaml = _yaml()
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _changed_lines(a: str, b: str) -> int:
    if a == b:
        return 0
    matcher = difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False)
    same = sum(block.size for block in matcher.get_matching_blocks())
    return len(a.splitlines()) + len(b.splitlines()) - 2 * same


def load(text: str, source: str) -> YamlFile:
    """Every document of ``text`` (comment-only stretches are kept as text)."""
    from ruamel.yaml.error import YAMLError  # noqa: PLC0415

    out = YamlFile(source)
    chunk: list[str] = []
    first = 1

    def flush(next_first: int) -> None:
        nonlocal chunk, first
        text_of = "".join(chunk)
        if text_of:
            try:
                data = _yaml().load(text_of)
            except YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = first + mark.line if mark is not None else first
                message = f"not valid YAML: {getattr(exc, 'problem', None) or exc}"
                raise FileProblems(source, [Problem(message, line=line)]) from None
            out.pieces.append(Document(text_of, data, first) if data is not None else text_of)
        chunk, first = [], next_first

    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if _SEPARATOR.match(line.rstrip("\r\n")):
            flush(number + 1)
            out.pieces.append(line)
        else:
            chunk.append(line)
    flush(0)
    return out
