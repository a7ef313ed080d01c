"""Where the data folders (profiles/, audit/, reports/) live.

In a source checkout they sit next to the package; in a wheel hatchling copies
them into ``harden/_data/``. This is the only module that knows both places.
"""

from __future__ import annotations

import functools
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
