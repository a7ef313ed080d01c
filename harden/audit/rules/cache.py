"""A cache of validated rule packs, so that ``harden audit`` skips YAML and pydantic.

Validating the packs strictly (YAML composition with line numbers, pydantic models) costs
~300 ms here, more than auditing 100 containers. After one strict load, the validated
packs are stored as JSON under ``$XDG_CACHE_HOME/harden`` (``~/.cache/harden``), keyed
by a checksum of every pack file, the fact catalogue and harden's version; any change
to any of them is a cache miss and a strict load. CEL expressions are still compiled on
every run. The cache directory is only used when it belongs to the current user and
nobody else can write to it, and a cache file that does not read back exactly is ignored.
"""

from __future__ import annotations

import json
import os
import stat
import zlib
from pathlib import Path
from typing import Any

from harden import __version__
from harden.audit.state.facts import FACTS

_FORMAT = 1


def cache_dir() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "harden"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return folder


def fingerprint(files: list[Path]) -> str:
    """A key that changes with any pack byte, the fact catalogue or harden's version.

    Change detection, not authentication (trust comes from who owns the directory): two
    CRC-32s over the same bytes (forwards and with a different seed) and the total size;
    zlib costs a millisecond to import where hashlib (OpenSSL) costs seven here.
    """
    parts = [f"{_FORMAT}:{__version__}".encode()]
    for kind, facts in FACTS.items():
        for spec in facts.values():
            parts.append(f"{kind}:{spec.path}:{spec.kind}:{sorted(spec.layers)}".encode())
    for path in files:
        parts.append(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    data = b"".join(parts)
    return f"{zlib.crc32(data):08x}{zlib.crc32(data, 0x5A5A5A5A):08x}{len(data):x}"


def read(key: str) -> dict[str, Any] | None:
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
    return data


def write(key: str, data: dict[str, Any]) -> None:
    """Best effort: a cache that cannot be written only makes the next run slower."""
    folder = cache_dir()
    if folder is None:
        return
    from harden.errors import HardenError  # noqa: PLC0415
    from harden.system.files import write_file  # noqa: PLC0415

    target = folder / f"audit-packs-{key[:32]}.json"
    try:
        write_file(target, json.dumps({**data, "key": key}))
        for stale in folder.glob("audit-packs-*.json"):  # packs changed: older keys are dead
            if stale != target:
                stale.unlink(missing_ok=True)
    except (HardenError, OSError):
        return
