"""A private mount namespace for the calling process: the root read-only, chosen
directories writable, tmpfs where asked (``harden run`` applying a spec's files).

Nothing here changes the host's mounts: the namespace is unshared first, and every mount
below is made private before anything is remounted, so no change propagates back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from collections.abc import Sequence

from harden.errors import PermissionProblem

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_AT_FDCWD = -100
_AT_RECURSIVE = 0x8000
_MOUNT_ATTR_RDONLY = 0x1
_SYS_MOUNT_SETATTR = 442  # the same number on every architecture (a 5.12 addition)


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise PermissionProblem(f"{what}: {os.strerror(err)}", hint="harden run needs root here")


def _bytes(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str) -> None:
    libc = _libc()
    result = libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, data.encode())
    _check(result, f"mount {target}")


def _read_only(path: str, *, clear: bool = False) -> None:
    """Make ``path`` and every mount below it read-only (or writable with ``clear``)."""
    attr = _MountAttr(0, _MOUNT_ATTR_RDONLY, 0, 0) if clear else _MountAttr(_MOUNT_ATTR_RDONLY)
    result = _libc().syscall(
        _SYS_MOUNT_SETATTR,
        ctypes.c_int(_AT_FDCWD),
        path.encode(),
        ctypes.c_uint(_AT_RECURSIVE),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    _check(result, f"{'writable' if clear else 'read-only'} {path}")


def _own_user_namespace() -> None:
    """An unprivileged caller's way to a mount namespace: a user namespace in which it is
    itself (its uid and gid mapped to themselves, nothing else), so files keep their
    owners and it gains no access on the host."""
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc().unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "a user and mount namespace")
    for name, text in (
        ("uid_map", f"{uid} {uid} 1"),
        ("setgroups", "deny"),
        ("gid_map", f"{gid} {gid} 1"),
    ):
        try:
            with open(f"/proc/self/{name}", "w") as handle:  # noqa: PTH123 - /proc files
                handle.write(text)
        except OSError as exc:
            raise PermissionProblem(f"/proc/self/{name}: {exc.strerror}") from None


def private_root(*, read_only: bool, writable: Sequence[str], tmpfs: Sequence[str]) -> None:
    """Give this process its own mount namespace: the root (every mount) read-only if
    ``read_only``, the ``writable`` directories writable again, a fresh tmpfs on each of
    ``tmpfs``. Every directory named must exist (nothing is created on the host). As
    root it is a mount namespace; otherwise a user namespace too (see above)."""
    if os.geteuid() == 0:
        _check(_libc().unshare(_CLONE_NEWNS), "a private mount namespace")
    else:
        _own_user_namespace()
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, "")
    for path in writable:
        _mount(path, path, None, _MS_BIND | _MS_REC, "")
    if read_only:
        _read_only("/")
        for path in writable:
            _read_only(path, clear=True)
    for path in tmpfs:
        _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=1777")
