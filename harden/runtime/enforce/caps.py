"""Setting the five capability sets of the calling process, by number.

Every set is written by capability number, from 0 to the kernel's
``/proc/sys/kernel/cap_last_cap``, through capset(2) and prctl(2) directly: a name table
(python-prctl's stops before CHECKPOINT_RESTORE, number 40) would leave the capabilities
it lacks in the inheritable set, from where they reach a root program's effective set.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from pathlib import Path

from harden.errors import PermissionProblem
from harden.kernel import capabilities as capmod

_PR_CAPBSET_DROP = 24
_PR_SET_KEEPCAPS = 8
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_RAISE = 2
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _Data(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return len(capmod.CAPABILITIES) - 1


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result: int) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _prctl(*args: int) -> None:
    padded = [ctypes.c_ulong(a) for a in (*args, 0, 0, 0, 0)[:5]]
    _check(_libc().prctl(*padded))


def _numbers(keep: frozenset[str]) -> list[int]:
    """The numbers of the capabilities kept (names the kernel lacks are not)."""
    top = last_cap()
    return sorted(capmod.NUMBER[c] for c in keep if capmod.NUMBER[c] <= top)


def drop_bounding(keep: frozenset[str]) -> None:
    """Remove every capability number up to cap_last_cap not in ``keep`` from the
    bounding set."""
    kept = set(_numbers(keep))
    for number in range(last_cap() + 1):
        if number in kept:
            continue
        try:
            _prctl(_PR_CAPBSET_DROP, number)
        except OSError as exc:
            name = capmod.CAPABILITIES[number] if number < len(capmod.CAPABILITIES) else number
            raise PermissionProblem(
                f"cannot drop capability {name} from the bounding set: {exc.strerror}",
                hint="dropping bounding capabilities needs CAP_SETPCAP (run as root)",
            ) from None


def set_process_caps(keep: frozenset[str], *, ambient: bool) -> None:
    """Permitted = effective = ``keep``; inheritable and ambient = ``keep`` if ``ambient``,
    else empty. Every other capability number is cleared in every set."""
    mask = 0
    for number in _numbers(keep):
        mask |= 1 << number
    data = (_Data * 2)()
    for word in (0, 1):
        part = (mask >> (32 * word)) & 0xFFFFFFFF
        data[word].effective = data[word].permitted = part
        data[word].inheritable = part if ambient else 0
    header = _Header(_CAPABILITY_VERSION_3, 0)
    try:
        _check(_libc().capset(ctypes.byref(header), data))
        _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
        if ambient:
            for number in _numbers(keep):
                _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, number)
    except OSError as exc:
        raise PermissionProblem(f"cannot set the capability sets: {exc.strerror}") from None


def switch_user(uid: int, gid: int) -> None:
    """Become ``uid:gid`` with no supplementary groups (capabilities kept via keep_caps)."""
    _prctl(_PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
