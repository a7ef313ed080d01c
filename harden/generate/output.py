"""Writing a bundle: all at once, and over nothing but a bundle harden wrote.

``harden generate -o DIR`` replaces an existing DIR only when its ``manifest.json``
proves it is a harden bundle (its kind, a version this harden knows, its list of files)
and DIR holds nothing but those files and the manifest. A web app, a browser extension
or ``docker save`` output also has a ``manifest.json``: they are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from harden.errors import HardenError
from harden.generate.bundle import BUNDLE_KIND, BUNDLE_VERSION, MANIFEST
from harden.system.files import write_tree
from harden.system.yaml import load_json

_SHOWN = 5  # extra entries named in the refusal


def write_bundle(target: Path, files: Mapping[str, bytes]) -> None:
    """Replace ``target`` with the bundle ``files`` (see the module's docstring)."""
    write_tree(target, files, replaceable=not_a_bundle)


def not_a_bundle(path: Path) -> str:
    """Why the directory ``path`` may not be replaced by a bundle ("" if it may)."""
    manifest_path = path / MANIFEST
    if manifest_path.is_symlink() or not manifest_path.is_file():
        return f"it has no {MANIFEST}: it is not a harden bundle"
    try:
        manifest = load_json(manifest_path, what="bundle manifest")
    except HardenError:
        return f"its {MANIFEST} cannot be read as a harden bundle's"
    listed = _listed(manifest)
    if listed is None:
        return f"its {MANIFEST} is not a harden bundle's (kind, version, files)"
    extra = _extra(path, {*listed, MANIFEST})
    if extra:
        more = f" and {len(extra) - _SHOWN} more" if len(extra) > _SHOWN else ""
        return f"it holds what the bundle does not list: {', '.join(extra[:_SHOWN])}{more}"
    return ""


def _listed(manifest: Any) -> set[str] | None:
    """The file names a bundle manifest lists, or None if it is no bundle manifest."""
    if not isinstance(manifest, dict) or manifest.get("kind") != BUNDLE_KIND:
        return None
    version = manifest.get("version")
    if type(version) is not int or not 1 <= version <= BUNDLE_VERSION:
        return None
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(n, str) for n in files):
        return None
    names = set(files)
    if any(PurePosixPath(n).is_absolute() or ".." in PurePosixPath(n).parts for n in names):
        return None
    return names


def _extra(root: Path, listed: set[str]) -> list[str]:
    """Entries under ``root`` that are not listed regular files or their folders."""
    folders = {str(p) for name in listed for p in PurePosixPath(name).parents if str(p) != "."}
    extra = []
    for folder, dirs, names in os.walk(root):  # never follows a link
        base = Path(folder).relative_to(root)
        for name in sorted(dirs):
            relative = (base / name).as_posix()
            if relative not in folders or (root / relative).is_symlink():
                extra.append(f"{relative}/")
        for name in sorted(names):
            relative = (base / name).as_posix()
            entry = root / relative
            if relative not in listed or entry.is_symlink() or not entry.is_file():
                extra.append(relative)
        dirs[:] = [d for d in dirs if (base / d).as_posix() in folders]
    return extra
