"""A cache of validated rule packs, so that ``harden audit`` skips YAML and pydantic.

Validating the packs strictly (YAML composition with line numbers, pydantic models) costs
~300 ms here, more than auditing 100 containers. After one strict load, the validated
packs are stored as JSON under ``$XDG_CACHE_HOME/harden`` (``~/.cache/harden``), keyed
by the SHA-256 of every pack file, the fact catalogue and harden's version; any change
to any of them is a cache miss and a strict load. CEL expressions are still compiled on
every run. The cache directory is only used when it belongs to the current user and
nobody else can write to it, and a cache file that does not read back exactly is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from harden import __version__
from harden.state.facts import FACTS

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
    digest = hashlib.sha256(f"{_FORMAT}:{__version__}".encode())
    for kind, facts in FACTS.items():
        for spec in facts.values():
            digest.update(f"{kind}:{spec.path}:{spec.kind}:{sorted(spec.layers)}".encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


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
    from harden.fsout import write_file  # noqa: PLC0415

    try:
        write_file(folder / f"audit-packs-{key[:32]}.json", json.dumps({**data, "key": key}))
    except (HardenError, OSError):
        return
