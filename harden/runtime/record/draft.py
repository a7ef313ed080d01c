"""An annotated spec: a workload spec document plus where each item came from.

Origins are kept as trailing YAML comments in a fixed form, so the file stays a plain
workload spec (the schema is unchanged) that a person edits and ``harden spec merge``
reads back::

    - sendfile  # recorded: nginx
    runtime: runc  # runtime base: 25 syscalls runc makes after the filter is on

An item without such a comment was written by hand: its origin is ``user``.
"""

from __future__ import annotations

import enum
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from harden.system.yaml import parse_documents

Path_ = tuple[str, ...]


class Origin(enum.StrEnum):
    RECORDED = "recorded"
    RUNTIME = "runtime base"
    USER = "user"


_ORDER = {o: i for i, o in enumerate(Origin)}
_WORD = "(?:recorded|runtime base|user)"
_NOTE = re.compile(rf"^(?P<origins>{_WORD}(?:, {_WORD})*)(?:: (?P<detail>.*))?$")
_MAX_NOTE = 300

# Top-level keys in the order a spec is written, and the list fields whose items carry notes.
KEYS = ("name", "description", "user", "architectures", "runtime", "capabilities", "syscalls",
        "files", "network", "devices", "read_only_rootfs", "no_new_privileges", "resources",
        "user_namespace")  # fmt: skip
LISTS: tuple[Path_, ...] = (
    ("capabilities",), ("syscalls", "sets"), ("syscalls", "allow"), ("syscalls", "deny"),
    ("files", "read"), ("files", "write"), ("files", "exec"), ("files", "tmpfs"),
    ("network", "listen"), ("network", "outbound"), ("network", "families"), ("devices",),
)  # fmt: skip
SCALARS: tuple[Path_, ...] = (
    ("name",), ("description",), ("user",), ("architectures",), ("runtime",),
    ("network", "ipv6"), ("network", "unix"), ("network", "netlink"), ("network", "raw_sockets"),
    ("read_only_rootfs",), ("no_new_privileges",), ("resources",), ("user_namespace",),
)  # fmt: skip


@dataclass(frozen=True)
class Note:
    """Where one item came from, and a short human detail."""

    origins: tuple[Origin, ...]
    detail: str = ""

    def render(self) -> str:
        text = ", ".join(o.value for o in self.origins)
        detail = clean(self.detail)
        return f"{text}: {detail}" if detail else text

    def merge(self, other: Note) -> Note:
        origins = tuple(sorted(set(self.origins) | set(other.origins), key=_ORDER.__getitem__))
        details = [d for d in (self.detail, other.detail) if d]
        joined = "; ".join(dict.fromkeys("; ".join(details).split("; "))) if details else ""
        return Note(origins, joined)

    @classmethod
    def parse(cls, comment: str) -> Note:
        match = _NOTE.match(comment.strip())
        if not match:
            return cls((Origin.USER,), comment.strip())
        origins = tuple(Origin(o) for o in match["origins"].split(", "))
        return cls(origins, (match["detail"] or "").strip())


USER_NOTE = Note((Origin.USER,))


def clean(text: str) -> str:
    """One line, printable, bounded: safe as a YAML comment."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= _MAX_NOTE else flat[: _MAX_NOTE - 3] + "..."


def item_key(path: Path_, item: Any) -> str:
    """A stable key for a list item (its value, or its identifying fields)."""
    if not isinstance(item, dict):
        return str(item)
    if path == ("capabilities",):
        return str(item.get("name"))
    if path == ("network", "listen"):
        return f"{item.get('port')}/{item.get('protocol', 'tcp')}"
    if path == ("network", "outbound"):
        return f"{item.get('host', '*')}:{item.get('port')}/{item.get('protocol', 'tcp')}"
    if path == ("devices",):
        return str(item.get("path"))
    return yaml.safe_dump(item, default_flow_style=True, sort_keys=True).strip()


@dataclass
class Draft:
    """A spec document (plain data), notes per item, and comments for a person."""

    data: dict[str, Any]
    notes: dict[Path_, Note] = field(default_factory=dict)
    comments: dict[Path_, list[str]] = field(default_factory=dict)  # shown above a key
    header: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)  # what the recording could not decide

    def note(self, path: Path_, origin: Origin, detail: str = "") -> None:
        new = Note((origin,), detail)
        self.notes[path] = self.notes[path].merge(new) if path in self.notes else new

    def comment(self, path: Path_, text: str) -> None:
        flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
        self.comments.setdefault(path, []).extend(textwrap.wrap(flat, 96) or [""])

    def list_paths(self) -> Iterator[Path_]:
        yield from LISTS
        for arch in sorted((self.data.get("syscalls") or {}).get("arch_specific") or {}):
            yield ("syscalls", "arch_specific", arch)


def get(data: dict[str, Any], path: Path_) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def read_draft(text: str, source: str) -> Draft:
    """A spec file's data and the notes of its trailing comments (others: ``user``)."""
    docs = parse_documents(text, source, max_nodes=200_000)
    doc = docs[0] if docs else None
    data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
    lines = text.splitlines()
    draft = Draft(dict(data))
    if doc is None:
        return draft

    def note_at(path: tuple[str | int, ...]) -> Note:
        line = doc.lines.get(path)
        if line is None or line > len(lines):
            return USER_NOTE
        comment = trailing_comment(lines[line - 1])
        return Note.parse(comment) if comment else USER_NOTE

    for path in SCALARS:
        if get(data, path) is not None:
            draft.notes[path] = note_at(path)
    for path in draft.list_paths():
        for i, item in enumerate(get(data, path) or []):
            draft.notes[(*path, item_key(path, item))] = note_at((*path, i))
    return draft


def trailing_comment(line: str) -> str | None:
    """The text of a ``# comment`` at the end of a YAML line (not inside quotes)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[i + 1 :].strip() if line[:i].strip() else None
    return None
