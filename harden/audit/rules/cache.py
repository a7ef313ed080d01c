"""A cache of validated rule packs, so that ``harden audit`` skips YAML and pydantic.

Validating the packs strictly (YAML composition with line numbers, pydantic models) costs
~300 ms here, more than auditing 100 containers. After one strict load, the validated
catalogue is stored as JSON in harden's cache directory (:func:`harden.resources.cache_dir`),
keyed by a checksum of every pack file, the capability table its constants come from, the
fact catalogue, the data folder's location and harden's version; any change is a cache
miss and a strict load. The cached data is rebuilt through the same dataclass
constructors the loader uses (:func:`decode`), so a cached catalogue is the validated one
field for field, without the examples (only the test suite runs them, and it loads
strictly). A cache file that does not read back exactly is ignored.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import json
import types
import typing
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harden import __version__
from harden.audit.rules.model import Catalog
from harden.audit.state.facts import FACTS
from harden.resources import cache_dir

_FORMAT = 3


def fingerprint(files: list[Path], folder: Path) -> str:
    """A key that changes with any pack byte, the folder's location, the fact catalogue
    or harden's version.

    Change detection, not authentication (trust comes from who owns the directory): two
    CRC-32s over the same bytes (forwards and with a different seed) and the total size;
    zlib costs a millisecond to import where hashlib (OpenSSL) costs seven here.
    """
    parts = [f"{_FORMAT}:{__version__}:{folder.resolve()}".encode()]
    for kind, facts in FACTS.items():
        for spec in facts.values():
            parts.append(f"{kind}:{spec.path}:{spec.kind}:{sorted(spec.layers)}".encode())
    for path in files:
        parts.append(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    data = b"".join(parts)
    return f"{zlib.crc32(data):08x}{zlib.crc32(data, 0x5A5A5A5A):08x}{len(data):x}"


def encode(catalog: Catalog) -> dict[str, Any]:
    """The validated catalogue as JSON-ready data (examples left out)."""
    packs = [
        dataclasses.replace(p, rules=tuple(dataclasses.replace(r, examples=()) for r in p.rules))
        for p in catalog.packs
    ]
    data: dict[str, Any] = _plain(dataclasses.replace(catalog, packs=tuple(packs)))
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def decode(kind: Any, data: Any) -> Any:
    """``data`` (from :func:`encode`) as a value of the type ``kind``, built through the
    dataclasses' own constructors; ValueError/TypeError/KeyError when it does not fit."""
    return _decoder(kind)(data)


Decoder = Callable[[Any], Any]


@functools.cache
def _decoder(kind: Any) -> Decoder:
    """The decoder of one type, worked out from its annotations once per process (the
    catalogue holds thousands of values of a dozen types)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return _dataclass(kind)
    if origin in (types.UnionType, typing.Union):
        inner = _decoder(next(a for a in args if a is not type(None)))
        if type(None) not in args:
            return inner
        return lambda data: None if data is None else inner(data)
    if origin is tuple:
        item = _decoder(args[0])
        return lambda data: tuple(item(v) for v in _list(data))
    if origin in (dict, Mapping, collections.abc.Mapping):
        value = _decoder(args[1])
        return lambda data: {k: value(v) for k, v in _dict(data).items()}
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind
    if kind is Any:
        return lambda data: data
    return functools.partial(_checked, kind)


def _dataclass(kind: type) -> Decoder:
    hints = typing.get_type_hints(kind)
    fields: list[tuple[str, Decoder]] = []

    def build(data: Any) -> Any:
        if not fields:  # filled on first use: a field may be of this very type
            fields.extend((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(kind))
        mapping = _dict(data)
        return kind(**{name: field(mapping[name]) for name, field in fields})

    return build


def _checked(kind: type, data: Any) -> Any:
    if not isinstance(data, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(data).__name__}")
    return data


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise TypeError(f"expected a list, got {type(data).__name__}")
    return data


def _dict(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    return data


def read(key: str) -> Catalog | None:
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / f"audit-packs-{key[:32]}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    try:
        catalog: Catalog = decode(Catalog, data.get("catalog"))
    except (KeyError, TypeError, ValueError, StopIteration):
        return None  # a cache of another shape: validate again
    return catalog


def write(key: str, catalog: Catalog) -> None:
    """Best effort: a cache that cannot be written only makes the next run slower."""
    folder = cache_dir()
    if folder is None:
        return
    from harden.errors import HardenError  # noqa: PLC0415
    from harden.system.files import write_file  # noqa: PLC0415

    target = folder / f"audit-packs-{key[:32]}.json"
    try:
        write_file(target, json.dumps({"key": key, "catalog": encode(catalog)}))
        for stale in folder.glob("audit-packs-*.json"):  # packs changed: older keys are dead
            if stale != target:
                stale.unlink(missing_ok=True)
    except (HardenError, OSError):
        return
