"""The catalogue of rule packs: loaded strictly once, then from the validated cache.

A strict load (YAML with lines, pydantic, every reference checked, constants from
``profiles/capabilities.yaml`` written out) happens when a pack or the capability table
changed since the last run; otherwise the validated catalogue comes from the cache
(:mod:`.cache`), rebuilt through the same constructors.
"""

from __future__ import annotations

import functools
from pathlib import Path

from harden.audit.rules import cache
from harden.audit.rules.model import Catalog
from harden.resources import data_dir


def load_catalog(directory: Path | None = None) -> Catalog:
    """Every pack in ``directory`` (default: the shipped ``audit/``), once per process."""
    return _load(directory or data_dir("audit"))


@functools.cache
def _load(folder: Path) -> Catalog:
    files = [
        folder / "references.yaml",
        *sorted((folder / "packs").glob("*.yaml")),
        data_dir("profiles") / "capabilities.yaml",
    ]
    try:
        key = cache.fingerprint(files, folder)
    except OSError:
        return _strict(folder)  # reports the unreadable file with its name
    cached = cache.read(key)
    if cached is not None:
        return cached
    catalog = _strict(folder)
    cache.write(key, catalog)
    return catalog


def _strict(folder: Path) -> Catalog:
    from harden.audit.rules import loader  # noqa: PLC0415 - only when the packs changed

    return loader.load_strict(folder)


def forget() -> None:
    """Load the packs again on the next call (for tests that change them)."""
    _load.cache_clear()
