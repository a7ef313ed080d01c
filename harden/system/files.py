"""Writing outputs without ever leaving a partial result behind.

A directory of files is written into a temporary sibling and renamed into place;
a single file is written to a temporary sibling and renamed over the target.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from harden.errors import OutputError


def _check_parent(target: Path) -> Path:
    parent = target.parent if str(target.parent) else Path()
    if not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"{target}: cannot create {parent}: {exc.strerror}") from None
    if not parent.is_dir():
        raise OutputError(f"{target}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: cannot write into {parent} (permission denied)")
    return parent


def write_tree(target: Path, files: Mapping[str, bytes], *, marker: str) -> None:
    """Replace directory ``target`` with exactly ``files``.

    An existing target is replaced only if it holds ``marker`` (it is ours) or is empty.
    Symlinks are refused: a bundle directory must be where it is named.
    """
    if target.is_symlink():
        raise OutputError(
            f"{target}: is a symbolic link; give the real directory",
            hint="harden refuses to write through links",
        )
    if target.exists():
        if not target.is_dir():
            raise OutputError(f"{target}: exists and is not a directory")
        if any(target.iterdir()) and not (target / marker).is_file():
            raise OutputError(
                f"{target}: exists, is not empty and is not a harden output",
                hint="choose another directory or empty this one",
            )
    parent = _check_parent(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot create a temporary directory: {exc.strerror}"
        ) from None
    try:
        for name, data in files.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o644)
        tmp.chmod(0o755)
        old = None
        if target.exists():
            old = parent / f".{target.name}.old-{os.getpid()}"
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{target}: writing failed: {exc.strerror or exc}") from None


_PIECE = 1 << 20  # characters


def write_file(target: Path, data: bytes | str, *, keep_mode: bool = False) -> None:
    """Write one file atomically (temporary sibling + rename); ``keep_mode``: an existing
    file keeps its permission bits (a file rewritten in place, e.g. by harden fix)."""
    if target.is_symlink():
        raise OutputError(f"{target}: is a symbolic link; refusing to write through it")
    if target.is_dir():
        raise OutputError(f"{target}: is a directory, expected a file name")
    mode = 0o644
    if keep_mode and target.is_file():
        mode = target.stat().st_mode & 0o7777
    parent = _check_parent(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, str):  # encoded piece by piece: no second copy of a big report
                for start in range(0, len(data), _PIECE):
                    handle.write(data[start : start + _PIECE].encode())
            else:
                handle.write(data)
        tmp.chmod(mode)
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(f"{target}: writing failed: {exc.strerror or exc}") from None


def write_new(target: Path, data: bytes) -> None:
    """Write a file harden adds beside a user's (a copied profile): nothing to do when the
    same bytes are there already; a different file there is never overwritten."""
    try:
        if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
            return
    except OSError as exc:
        raise OutputError(f"{target}: cannot read: {exc.strerror}") from None
    if target.exists() or target.is_symlink():
        raise OutputError(
            f"{target}: exists and differs from what harden would write there",
            hint="harden does not overwrite files it did not create: move it, or compare them",
        )
    write_file(target, data)
