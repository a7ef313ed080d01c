"""Writing outputs without ever leaving a partial result, or harming what is there.

A directory of files is written into a temporary sibling and renamed into place, and an
existing directory is replaced only when its owner (the caller) says it may be. A file
is written to a temporary sibling and renamed over the target, if the target is a
regular file or absent; a character device or a FIFO (``-o /dev/null``, a named pipe)
is written into, never replaced; anything else (a block device, a socket, a directory)
is refused. Several outputs of one run are written all or none. Every failure, a full
disk or no free inode included, is an :class:`OutputError` (exit 2), never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from harden.errors import OutputError

# existing directory -> "" if it may be replaced, else why not
Replaceable = Callable[[Path], str]


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _check_parent(target: Path) -> Path:
    parent = target.parent if str(target.parent) else Path()
    if not parent.exists():
        try:
            parent.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"{target}: cannot create {parent}: {_reason(exc)}") from None
    if not parent.is_dir():
        raise OutputError(f"{target}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: cannot write into {parent} (permission denied)")
    return parent


def marked(marker: str, *, only: str = "") -> Replaceable:
    """A directory is replaceable when it holds ``marker`` (harden wrote it) and, with
    ``only`` (a glob), nothing but the marker and regular files matching ``only``."""

    def check(path: Path) -> str:
        if not (path / marker).is_file():
            return "it is not a harden output"
        if only:
            extra = sorted(
                e.name
                for e in path.iterdir()
                if e.name != marker
                and (e.is_symlink() or not e.is_file() or not fnmatch(e.name, only))
            )
            if extra:
                return f"it holds what harden did not write: {', '.join(extra[:5])}"
        return ""

    return check


def write_tree(target: Path, files: Mapping[str, bytes], *, replaceable: Replaceable) -> None:
    """Replace directory ``target`` with exactly ``files``.

    An existing non-empty target is replaced only if ``replaceable`` finds no reason
    against it. Symlinks are refused: a bundle directory must be where it is named.
    """
    if target.is_symlink():
        raise OutputError(
            f"{target}: is a symbolic link; give the real directory",
            hint="harden refuses to write through links",
        )
    if target.exists():
        if not target.is_dir():
            raise OutputError(f"{target}: exists and is not a directory")
        why = replaceable(target) if any(target.iterdir()) else ""
        if why:
            raise OutputError(
                f"{target}: exists and is not empty, and {why}: it is left as it is",
                hint="choose another directory, or move this one away",
            )
    parent = _check_parent(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot create a temporary directory: {_reason(exc)}"
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
        raise OutputError(f"{target}: writing failed: {_reason(exc)}") from None


_PIECE = 1 << 20  # characters


def _write(handle: int, data: bytes | str) -> None:
    with os.fdopen(handle, "wb") as out:
        if isinstance(data, str):  # encoded piece by piece: no second copy of a big report
            for start in range(0, len(data), _PIECE):
                out.write(data[start : start + _PIECE].encode())
        else:
            out.write(data)


@dataclass
class _Output:
    target: Path
    data: bytes | str
    special: bool = False  # a character device or a FIFO: written into
    mode: int = 0o644
    staged: Path | None = None


def _plan(target: Path, data: bytes | str, *, keep_mode: bool = False) -> _Output:
    """How ``target`` is written; what must not be written to is refused here."""
    try:
        info = target.stat()  # follows links: /dev/stdout is one to a pipe or a terminal
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(f"{target}: {_reason(exc)}") from None
    if info is not None and (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        return _Output(target, data, special=True)
    if target.is_symlink():
        raise OutputError(f"{target}: is a symbolic link; refusing to write through it")
    if info is None:
        return _Output(target, data)
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{target}: is a directory, expected a file name")
    if not stat.S_ISREG(info.st_mode):
        kind = "a block device" if stat.S_ISBLK(info.st_mode) else "not a regular file"
        raise OutputError(f"{target}: is {kind}; harden writes only files, FIFOs and devices")
    return _Output(target, data, mode=info.st_mode & 0o7777 if keep_mode else 0o644)


def _stage(output: _Output) -> None:
    """Write a regular file's content to a temporary sibling."""
    parent = _check_parent(output.target)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{output.target.name}.tmp-", dir=parent)
    except OSError as exc:
        raise OutputError(f"{output.target}: cannot create a file: {_reason(exc)}") from None
    output.staged = Path(name)
    try:
        _write(handle, output.data)
        output.staged.chmod(output.mode)
    except OSError as exc:
        raise OutputError(f"{output.target}: writing failed: {_reason(exc)}") from None


def _write_special(output: _Output) -> None:
    try:
        handle = os.open(output.target, os.O_WRONLY | os.O_NOCTTY)
        _write(handle, output.data)
    except OSError as exc:
        raise OutputError(f"{output.target}: writing failed: {_reason(exc)}") from None


def write_files(outputs: Mapping[Path, bytes | str], *, keep_mode: bool = False) -> None:
    """Write every output, or none of the regular files: each is staged beside its
    target first, then the devices and FIFOs are written, then every staged file is
    renamed over its target. ``keep_mode``: an existing file keeps its permission bits
    (a file rewritten in place, e.g. by harden fix); else outputs are 0644."""
    plans = [_plan(target, data, keep_mode=keep_mode) for target, data in outputs.items()]
    try:
        for output in plans:
            if not output.special:
                _stage(output)
        for output in plans:
            if output.special:
                _write_special(output)
        for output in plans:
            if output.staged is not None:
                try:
                    output.staged.replace(output.target)
                except OSError as exc:
                    raise OutputError(f"{output.target}: writing failed: {_reason(exc)}") from None
                output.staged = None
    finally:
        for output in plans:
            if output.staged is not None:
                with contextlib.suppress(OSError):
                    output.staged.unlink()


def write_file(target: Path, data: bytes | str, *, keep_mode: bool = False) -> None:
    """Write one file atomically (temporary sibling + rename), or into a device or FIFO."""
    write_files({target: data}, keep_mode=keep_mode)


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
