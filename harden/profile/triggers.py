"""The ``implied_by`` vocabulary: what in a spec switches on a syscall set or an LSM block.

One table, read by the data loaders (an unknown trigger in ``profiles/`` is a located
error) and by every builder that asks which sets and blocks a spec implies.
"""

from __future__ import annotations

from collections.abc import Callable

from harden.profile.spec import WorkloadSpec

TRIGGERS: dict[str, Callable[[WorkloadSpec], bool]] = {
    "always": lambda _spec: True,
    "runtime:runc": lambda spec: spec.runtime == "runc",
    "runtime:crun": lambda spec: spec.runtime == "crun",
    "network.listen": lambda spec: bool(spec.network.listen),
    "network.outbound": lambda spec: bool(spec.network.outbound),
    "network.unix": lambda spec: spec.network.unix,
    "network.netlink": lambda spec: spec.network.netlink,
    "files.read": lambda spec: bool(spec.files.read),
    "files.write": lambda spec: bool(spec.files.write),
    "files.exec": lambda spec: bool(spec.files.exec),
}


def triggers(spec: WorkloadSpec) -> set[str]:
    """The ``implied_by`` keys a spec switches on."""
    return {key for key, on in TRIGGERS.items() if on(spec)}
