"""Recording containers: attached to a running one, or a new one traced from its start.

``record_container`` attaches strace to every process of a running container (its
cgroup, read in /proc) and to every new one that appears (``docker exec``).
``record_image`` starts a new container held at a start barrier (see
:mod:`harden.runtime.record.barrier`) until strace is attached, so its start-up is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden.errors import InputError, PermissionProblem
from harden.progress import step
from harden.runtime.container import (
    ClientResult,
    command_of,
    container_pid,
    exit_status,
    image_config,
    logs_tail,
    remove,
    run_client,
    unique_name,
    wait_ready,
    wait_ready_command,
)
from harden.runtime.record import barrier
from harden.runtime.record.backend import Backend, choose
from harden.runtime.record.recorder import POLL_SECONDS, Recording, RecordOptions, Session
from harden.system import proc, tools

if TYPE_CHECKING:
    from harden.runtime.record.ebpf_session import EbpfSession


def _session(opts: RecordOptions, init: int, what: str) -> Session | EbpfSession:
    """The eBPF session when it can run on this container, else strace (saying why)."""
    from harden.system.bpf import cgroup_id  # noqa: PLC0415

    choice = choose(opts.backend, cgroup_id(init), target=what)
    reason = choice.reason
    if choice.backend is Backend.EBPF:
        from harden.runtime.record.ebpf_session import EbpfSession  # noqa: PLC0415

        step(opts.progress, f"recording {what} with eBPF (bpftrace, in-kernel aggregation)")
        try:
            return EbpfSession(opts, cgroup_id(init) or 0)
        except PermissionProblem as exc:  # bpftrace would not start: auto falls back
            if opts.backend is Backend.EBPF:
                raise
            reason = f"eBPF recorder unavailable ({exc}): recorded with strace"
    if reason:
        step(opts.progress, reason)
    tools.require("strace")
    session = Session(opts)
    if reason:
        session.notes.append(reason)
    return session


def record_container(client: Any, name: str, opts: RecordOptions) -> Recording:
    """Attach to every process of a running container and follow new ones."""
    import docker.errors  # noqa: PLC0415

    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        raise InputError(f"no container named {name!r}", hint="docker ps lists them") from None
    running, _ = exit_status(container)
    init = container_pid(container)
    if not running or not init:
        raise InputError(f"container {name!r} is not running", hint="start it first")
    user = _user_ids(container.attrs.get("Config", {}).get("User") or "", init)
    session = _session(opts, init, f"container {name}")
    if isinstance(session, Session):
        session.attach(sorted(proc.members(init) or {init}))
    else:
        session.follow(init)
    exercise = _run_loop(client, container, init, session, opts)
    if not proc.alive(init):
        _, code = exit_status(container)
        session.problems.append(
            f"the container stopped during the recording (exit status {code}); "
            "the recording covers only the time before"
        )
    attrs = container.attrs
    return session.finish(
        source=f"container {attrs.get('Name', name).lstrip('/')} "
        f"(image {attrs.get('Config', {}).get('Image', '?')})",
        runtime=attrs.get("HostConfig", {}).get("Runtime") or "runc",
        user=user,
        volumes=tuple(m.get("Destination", "") for m in attrs.get("Mounts", [])),
        exercise=exercise,
    )


def _ready(client: Any, container: Any, opts: RecordOptions) -> str | None:
    """Wait until the workload is ready: ``--ready`` succeeds, or else it listens on a port
    (up to ``--ready-timeout``; a workload that never listens is exercised after that)."""
    if opts.ready:
        return wait_ready_command(
            client, container, opts.ready, where=opts.exercise_where,
            image=opts.exercise_image or container.attrs["Config"]["Image"],
            prefix=opts.prefix, timeout=opts.ready_timeout,
        )  # fmt: skip
    return wait_ready(container, set(), opts.ready_timeout, settle=opts.ready_timeout)


def _run_loop(
    client: Any, container: Any, init: int, session: Session | EbpfSession, opts: RecordOptions
) -> ClientResult | None:
    """Follow new processes until the exercise ends, the duration passes or Ctrl-C."""
    exercise = None
    try:
        if opts.exercise:
            problem = _ready(client, container, opts)
            if problem:
                session.problems.append(problem)
            else:
                session.follow(init)
                exercise = run_client(
                    client,
                    container,
                    opts.exercise,
                    where=opts.exercise_where,
                    image=opts.exercise_image or container.attrs["Config"]["Image"],
                    prefix=opts.prefix,
                    timeout=opts.exercise_timeout,
                )
            return exercise
        deadline = None if opts.duration is None else time.monotonic() + opts.duration
        while proc.alive(init) and (deadline is None or time.monotonic() < deadline):
            session.follow(init)
            time.sleep(POLL_SECONDS * 2)
    except KeyboardInterrupt:
        step(opts.progress, "interrupted: finishing the recording")
    return exercise


def record_image(client: Any, image: str, command: Sequence[str], opts: RecordOptions) -> Recording:
    """Start a new container of ``image`` traced from its first instruction."""
    if opts.backend is Backend.STRACE:
        tools.require("strace")
    config = image_config(client, image)
    argv = command_of(config, command)
    folder = barrier.prepare(opts.work)
    container = client.containers.run(
        image,
        argv,
        entrypoint=[barrier.SHELL, "-c", barrier.SCRIPT, "harden-barrier"],
        volumes={str(folder): {"bind": barrier.MOUNT, "mode": "ro"}},
        network_mode="none",
        name=unique_name(opts.prefix, "record"),
        user=opts.user or config.get("User") or "",
        detach=True,
    )
    try:
        return _record_started(client, container, (image, config, argv), folder, opts)
    finally:
        remove(container)


def _record_started(
    client: Any,
    container: Any,
    what: tuple[str, dict[str, Any], list[str]],
    folder: Path,
    opts: RecordOptions,
) -> Recording:
    image, config, argv = what
    init = container_pid(container)
    if not init:
        raise InputError(f"the container of {image!r} did not start: {logs_tail(container)}")
    user = _user_ids(opts.user or config.get("User") or "", init)
    session = _session(opts, init, f"image {image}")
    if isinstance(session, Session):
        session.skip_until_exec.add(init)
        session.attach([init])
        _wait_traced(init)
    else:
        session.follow(init)
    barrier.release(folder)
    step(opts.progress, f"recording {image}: {' '.join(argv)}")
    exercise = _run_loop(client, container, init, session, opts)
    running, code = exit_status(container)
    if running:
        container.stop(timeout=10)  # its shutdown is part of what it does
    elif code:
        session.problems.append(
            f"the workload exited with status {code}: {logs_tail(container, 5) or 'no output'}"
        )
    if isinstance(session, Session):
        for tracer in session.tracers:
            tracer.wait(10)
    return session.finish(
        source=f"image {image}: {' '.join(argv)}",
        runtime=container.attrs.get("HostConfig", {}).get("Runtime") or "runc",
        user=user,
        volumes=(),
        exercise=exercise,
    )


def _user_ids(user: str, init: int) -> tuple[int, int] | None:
    if not user:
        return (0, 0)
    return proc.passwd_ids(init, user)


def _wait_traced(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while proc.tracer_of(pid) == 0:
        if time.monotonic() > deadline:
            raise PermissionProblem(
                f"strace did not attach to the container's process {pid}",
                hint="run as root; check kernel.yama.ptrace_scope",
            )
        time.sleep(0.01)
