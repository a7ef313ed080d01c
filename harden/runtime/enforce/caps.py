"""Setting the five capability sets of the calling process (python-prctl + ambient via prctl(2)).

python-prctl 1.8.1 predates ambient capabilities (Linux 4.3) and its capability table
stops before CHECKPOINT_RESTORE, so those two operations go through prctl(2) directly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

from harden.errors import PermissionProblem
from harden.kernel import capabilities as capmod

_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_RAISE = 2
_PR_CAP_AMBIENT_CLEAR_ALL = 4


def last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return len(capmod.CAPABILITIES) - 1


def _libc_prctl(*args: int) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    padded = [ctypes.c_ulong(a) for a in (*args, 0, 0, 0, 0)[:5]]
    if libc.prctl(*padded) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def drop_bounding(keep: frozenset[str]) -> None:
    """Remove every capability not in ``keep`` from the bounding set."""
    import _prctl  # noqa: PLC0415 - python-prctl's C module

    for number in range(last_cap() + 1):
        name = capmod.CAPABILITIES[number] if number < len(capmod.CAPABILITIES) else ""
        if name in keep:
            continue
        try:
            _prctl.prctl(_prctl.PR_CAPBSET_DROP, number)
        except OSError as exc:
            raise PermissionProblem(
                f"cannot drop capability {name or number} from the bounding set: {exc}",
                hint="dropping bounding capabilities needs CAP_SETPCAP (run as root)",
            ) from None


def set_process_caps(keep: frozenset[str], *, ambient: bool) -> None:
    """Permitted = effective = ``keep``; inheritable and ambient = ``keep`` if ``ambient``."""
    import prctl  # noqa: PLC0415

    known = [c for c in capmod.CAPABILITIES if hasattr(prctl, f"CAP_{c}")]
    wanted = [c.lower() for c in known if c in keep]
    unwanted = [c.lower() for c in known if c not in keep]
    effective = int(prctl.CAP_EFFECTIVE)
    permitted = int(prctl.CAP_PERMITTED)
    inheritable = int(prctl.CAP_INHERITABLE)
    prctl.set_caps(
        (wanted, [permitted, effective], True),
        (wanted, [inheritable], ambient),
        (unwanted, [permitted, effective, inheritable], False),
    )
    _libc_prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    if ambient:
        for cap in keep:
            _libc_prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, capmod.NUMBER[cap])


def keep_caps_across_setuid() -> None:
    import prctl  # noqa: PLC0415

    prctl.securebits.keep_caps = True


def switch_user(uid: int, gid: int) -> None:
    """Become ``uid:gid`` with no supplementary groups (capabilities kept via keep_caps)."""
    keep_caps_across_setuid()
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
