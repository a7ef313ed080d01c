"""Where the data folders (profiles/, audit/, reports/) live, and harden's one cache.

In a source checkout the data folders sit next to the package; in a wheel hatchling
copies them into ``harden/_data/``. This is the only module that knows both places, and
the only one that decides where harden may cache what it derived from them.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path
from typing import Literal

DataFolder = Literal["profiles", "audit", "reports"]

_PACKAGE = Path(__file__).resolve().parent


@functools.cache
def data_dir(name: DataFolder) -> Path:
    """The directory holding the named data folder."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"harden data folder {name!r} is missing from this installation")


def cache_dir() -> Path | None:
    """harden's cache directory, created 0700: ``$HARDEN_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/harden``, else ``~/.cache/harden``.

    None when it cannot be created, belongs to another user, or others can write to it
    (what it holds is trusted without further checks): the caller works without a cache.
    """
    try:
        folder = _cache_location()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        return None
    if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return folder


def _cache_location() -> Path:
    if os.environ.get("HARDEN_CACHE_DIR"):
        return Path(os.environ["HARDEN_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "harden"
