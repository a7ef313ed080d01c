"""Linux capabilities: the full kernel list, parsing, suggestions and bitmask decoding."""

from __future__ import annotations

from collections.abc import Iterable

# Number order is the kernel's (include/uapi/linux/capability.h), up to CAP_LAST_CAP of 6.x.
CAPABILITIES: tuple[str, ...] = (
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
)

NUMBER: dict[str, int] = {name: i for i, name in enumerate(CAPABILITIES)}

# The set Docker (moby) grants a container by default; used by audit and diff.
DOCKER_DEFAULT: frozenset[str] = frozenset(
    {
        "CHOWN",
        "DAC_OVERRIDE",
        "FSETID",
        "FOWNER",
        "MKNOD",
        "NET_RAW",
        "SETGID",
        "SETUID",
        "SETFCAP",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "KILL",
        "AUDIT_WRITE",
    }
)


def normalise(name: str) -> str | None:
    """The canonical name (``NET_RAW``) for ``cap_net_raw``/``CAP_NET_RAW``/``net_raw``, or None."""
    upper = name.strip().upper()
    if upper.startswith("CAP_"):
        upper = upper[4:]
    return upper if upper in NUMBER else None


def suggest(name: str) -> str | None:
    """The closest real capability name to a typo, if any is close."""
    import difflib  # noqa: PLC0415 - only on the error path

    upper = name.strip().upper().removeprefix("CAP_")
    matches = difflib.get_close_matches(upper, CAPABILITIES, n=1, cutoff=0.6)
    return matches[0] if matches else None


def decode_mask(mask: int, last_cap: int = len(CAPABILITIES) - 1) -> tuple[str, ...]:
    """Capability names set in a /proc/PID/status style bitmask.

    Bits above ``last_cap`` (from /proc/sys/kernel/cap_last_cap) are reported as
    ``CAP_<n>`` so that a newer kernel's capabilities are never silently hidden.
    """
    names: list[str] = []
    bit = 0
    while mask >> bit:
        if mask >> bit & 1:
            if bit <= last_cap and bit < len(CAPABILITIES):
                names.append(CAPABILITIES[bit])
            else:
                names.append(f"CAP_{bit}")
        bit += 1
    return tuple(names)


def encode_mask(names: Iterable[str]) -> int:
    """The bitmask of canonical capability names."""
    mask = 0
    for name in names:
        mask |= 1 << NUMBER[name]
    return mask
