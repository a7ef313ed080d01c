"""``harden run``: confine this process with a bundle's layers, then exec the command.

Order matters: the bounding set is dropped while still privileged, the user is
switched with keep_caps, the capability sets are set, no_new_privs is set, the
seccomp filter is loaded last (it must allow execve), then the command is exec'd.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from harden.errors import InputError, PermissionProblem
from harden.generate.reader import BundleOnDisk
from harden.kernel.syscalls import Arch
from harden.layers.seccomp.compile import build_filter
from harden.runtime.enforce import caps as capset


@dataclass(frozen=True)
class RunPlan:
    executable: str
    argv: tuple[str, ...]
    keep: frozenset[str]
    switch_to: tuple[int, int] | None
    ambient: bool
    no_new_privs: bool
    native: Arch


def machine_arch() -> Arch:
    machine = platform.machine()
    if machine in ("x86_64", "amd64"):
        return Arch.X86_64
    if machine in ("aarch64", "arm64"):
        return Arch.AARCH64
    raise InputError(f"this machine's architecture ({machine}) is not supported by harden run")


def plan_run(bundle: BundleOnDisk, argv: Sequence[str], *, keep_user: bool) -> RunPlan:
    if not argv:
        raise InputError("no command given", hint="harden run --bundle DIR -- COMMAND [ARGS]")
    executable = shutil.which(argv[0])
    if executable is None:
        raise InputError(f"command not found: {argv[0]}")
    native = machine_arch()
    if bundle.seccomp.group_for(native) is None:
        raise InputError(
            f"{bundle.path}: the seccomp profile does not cover {native}",
            hint="add the architecture to the spec and regenerate",
        )
    spec = bundle.spec
    is_root = os.geteuid() == 0
    switch = None
    if is_root and not keep_user and spec.user.uid != 0:
        switch = (spec.user.uid, spec.user.gid)
    target_uid = switch[0] if switch else os.geteuid()
    keep = frozenset(bundle.caps.keep)
    return RunPlan(
        executable,
        tuple(argv),
        keep,
        switch,
        target_uid != 0 and bool(keep),
        spec.no_new_privileges,
        native,
    )


def apply_and_exec(bundle: BundleOnDisk, plan: RunPlan, env: Mapping[str, str]) -> NoReturn:
    """Confine the calling process as the plan says and replace it with the command."""
    privileged = os.geteuid() == 0
    if privileged:
        capset.drop_bounding(plan.keep)
        if plan.switch_to is not None:
            capset.switch_user(*plan.switch_to)
        capset.set_process_caps(plan.keep, ambient=plan.ambient)
    elif plan.keep:
        raise PermissionProblem(
            f"the bundle keeps {', '.join(sorted(plan.keep))}, which an unprivileged user "
            "cannot grant",
            hint="run harden run as root, or drop the capabilities from the spec",
        )
    import prctl  # noqa: PLC0415

    if plan.no_new_privs or not privileged:
        prctl.set_no_new_privs(1)
    group = bundle.seccomp.group_for(plan.native)
    assert group is not None  # checked by plan_run
    filt = build_filter(bundle.seccomp, group, plan.keep, no_new_privs=plan.no_new_privs)
    filt.load()
    os.execve(plan.executable, list(plan.argv), dict(env))  # noqa: S606 - exec is the point


def describe(plan: RunPlan) -> str:
    user = f"uid {plan.switch_to[0]} gid {plan.switch_to[1]}" if plan.switch_to else "current user"
    caps = ", ".join(sorted(plan.keep)) or "none"
    return (
        f"harden run: {Path(plan.executable).name} as {user}; capabilities: {caps}"
        f"{' (ambient)' if plan.ambient else ''}; no_new_privs: "
        f"{'yes' if plan.no_new_privs else 'no'}; seccomp: {plan.native}"
    )
