"""Reading outside text and JSON strictly: size limits, UTF-8, located errors.

Every reader of files, engine answers and reports goes through here for text and JSON
(YAML, which also needs PyYAML, is harden.system.yaml, built on read_text). No NaN or
Infinity, no number too large for a float, nesting at most _MAX_DEPTH levels: anything
else is a located input error, never a crash in code that walks the value.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from harden.errors import FileProblems, InputError, Problem

DEFAULT_MAX_BYTES = 1 << 20
MAX_DEPTH = 64  # as deep as a YAML document may nest
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


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
    return decode_text(raw, source, max_bytes=max_bytes, what=what)


def decode_text(
    raw: bytes, source: str, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "file"
) -> str:
    """Bytes read from ``source`` (a file that grew after stat, a special file, a pipe) as
    UTF-8 text within the size limit; a located input error otherwise."""
    if len(raw) > max_bytes:
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
    """Whether no array or object in ``value`` is more than MAX_DEPTH levels down."""
    stack = [(value, 0)] if type(value) is dict or type(value) is list else []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        items = node.values() if type(node) is dict else node
        stack.extend((x, depth + 1) for x in items if type(x) is dict or type(x) is list)
    return True
