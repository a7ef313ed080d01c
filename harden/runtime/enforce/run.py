"""``harden run``: confine a process with a bundle's layers, then exec the command.

The command runs in a forked child that leads a new session (no controlling terminal:
it cannot push keystrokes into the caller's terminal with TIOCSTI); harden waits for it
and exits with its status. In the child, order matters: the mounts are made while still
privileged (a private mount namespace: the root read-only if the spec says so, its
``files.write`` directories writable, its ``files.tmpfs`` fresh tmpfs), the bounding set
is dropped, the user is switched with keep_caps, the capability sets are set (by number,
up to the kernel's last), no_new_privs is set, the seccomp filter is loaded last (it
must allow execve), then the command is exec'd.

What harden run cannot apply, it refuses before anything starts: ``no_new_privileges:
false`` (loading the filter after the capabilities are dropped needs no_new_privs), and
``files.read``/``files.exec`` for a program that runs as root (only an LSM confines them;
a root program could read and run anything).
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harden.errors import FileProblems, InputError, PermissionProblem, Problem
from harden.generate.reader import BundleOnDisk
from harden.kernel.syscalls import Arch
from harden.layers.seccomp.compile import build_filter
from harden.runtime.enforce import caps as capset
from harden.system import mounts, parallel

_GLOB = frozenset("*?[{")


@dataclass(frozen=True)
class RunPlan:
    executable: str
    argv: tuple[str, ...]
    keep: frozenset[str]
    switch_to: tuple[int, int] | None
    ambient: bool
    native: Arch
    read_only: bool = False  # the root (every mount) read-only
    writable: tuple[str, ...] = ()  # directories writable under a read-only root
    tmpfs: tuple[str, ...] = ()
    unenforced: tuple[str, ...] = ()  # spec fields harden run leaves to file permissions

    @property
    def mounts(self) -> bool:
        return self.read_only or bool(self.tmpfs)


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
    files = spec.files
    refused = [Problem(_NNP, "no_new_privileges")] if not spec.no_new_privileges else []
    lsm_only = [f for f in ("read", "exec") if getattr(files, f)]
    if target_uid == 0:
        refused += [Problem(_ROOT_FILES, f"files.{f}") for f in lsm_only]
    writable = tuple(_directory(p) for p in files.write) if spec.read_only_rootfs else ()
    refused += [
        Problem(f"{path} does not exist here (harden run creates nothing on the host)", field)
        for field, paths in (("files.write", writable), ("files.tmpfs", files.tmpfs))
        for path in paths
        if not Path(path).is_dir()
    ]
    if refused:
        raise FileProblems(str(bundle.path / "spec.yaml"), refused, hint=_HINT)
    return RunPlan(
        executable,
        tuple(argv),
        keep,
        switch,
        target_uid != 0 and bool(keep),
        native,
        read_only=spec.read_only_rootfs,
        writable=tuple(dict.fromkeys(writable)),
        tmpfs=files.tmpfs,
        unenforced=tuple(f"files.{f}" for f in lsm_only),
    )


_NNP = (
    "harden run needs no_new_privs: it loads the seccomp filter after dropping the "
    "capabilities that loading one without it needs"
)
_ROOT_FILES = (
    "only AppArmor or SELinux confine the files a program reads or runs; harden run loads "
    "neither, and this program runs as root"
)
_HINT = (
    "run the bundle in a container engine (its forms apply every layer), or change the "
    "spec: harden run never ignores a field it cannot apply"
)


def _directory(pattern: str) -> str:
    """The directory a files.write pattern is under (/var/cache/web/** -> /var/cache/web)."""
    parts: list[str] = []
    for part in pattern.split("/")[1:]:
        if _GLOB.intersection(part):
            break
        parts.append(part)
    path = "/" + "/".join(parts)
    return path if Path(path).is_dir() or path == "/" else (str(Path(path).parent))


def apply_and_run(bundle: BundleOnDisk, plan: RunPlan, env: Mapping[str, str]) -> int:
    """Run the command confined as the plan says, in a new session; its exit status."""
    if plan.keep and os.geteuid() != 0:
        raise PermissionProblem(
            f"the bundle keeps {', '.join(sorted(plan.keep))}, which an unprivileged user "
            "cannot grant",
            hint="run harden run as root, or drop the capabilities from the spec",
        )
    return parallel.in_new_session(lambda: _confine_and_exec(bundle, plan, env))


def _confine_and_exec(bundle: BundleOnDisk, plan: RunPlan, env: Mapping[str, str]) -> None:
    if plan.mounts:
        mounts.private_root(read_only=plan.read_only, writable=plan.writable, tmpfs=plan.tmpfs)
    if os.geteuid() == 0:
        capset.drop_bounding(plan.keep)
        if plan.switch_to is not None:
            capset.switch_user(*plan.switch_to)
        capset.set_process_caps(plan.keep, ambient=plan.ambient)
    import prctl  # noqa: PLC0415

    prctl.set_no_new_privs(1)
    group = bundle.seccomp.group_for(plan.native)
    assert group is not None  # checked by plan_run
    build_filter(bundle.seccomp, group, plan.keep, no_new_privs=True).load()
    try:
        os.execve(plan.executable, list(plan.argv), dict(env))  # noqa: S606 - the point
    except OSError as exc:
        who = f"uid {os.geteuid()}"
        raise PermissionProblem(f"{who} cannot run {plan.executable}: {exc.strerror}") from None


def describe(plan: RunPlan) -> str:
    user = f"uid {plan.switch_to[0]} gid {plan.switch_to[1]}" if plan.switch_to else "current user"
    caps = ", ".join(sorted(plan.keep)) or "none"
    root = "read-only" if plan.read_only else "writable"
    return (
        f"harden run: {Path(plan.executable).name} as {user}; capabilities: {caps}"
        f"{' (ambient)' if plan.ambient else ''}; no_new_privs: yes; seccomp: {plan.native}; "
        f"root {root}, writable: {', '.join(plan.writable) or 'none'}, "
        f"tmpfs: {', '.join(plan.tmpfs) or 'none'}; new session"
    )
