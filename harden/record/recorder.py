"""Recording a workload: a local command, a running container, or a new container.

    command / container / image -> strace (follow forks, threads, new processes)
        -> trace files -> calls -> Observations -> Recording

Tracing ends when the duration passes, the exercise finishes, the user interrupts
(Ctrl-C), or the workload ends. However it ends, every trace file written so far is
parsed: an interrupted or failed recording is kept, marked incomplete, never lost.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harden.errors import InputError, PermissionProblem
from harden.kernel.syscalls import Arch
from harden.record import barrier, procfs
from harden.record.observe import Observations, Observer
from harden.record.strace import Tracer, strace_binary, terminate_command
from harden.record.trace import TraceParser
from harden.record.workload import (
    DEFAULT_PREFIX,
    ClientResult,
    Where,
    command_of,
    container_pid,
    exit_status,
    image_config,
    logs_tail,
    remove,
    run_client,
    unique_name,
    wait_ready,
)

Progress = Callable[[str], None]
_POLL = 0.1


@dataclass(frozen=True)
class RecordOptions:
    work: Path  # trace files go here
    duration: float | None = None
    exercise: str | None = None
    exercise_where: Where = Where.CONTAINER
    exercise_image: str | None = None
    exercise_timeout: float = 300.0
    ready_timeout: float = 30.0
    prefix: str = DEFAULT_PREFIX
    user: str | None = None
    progress: Progress = field(default=lambda _m: None)


@dataclass(frozen=True)
class Recording:
    """What was seen, from where, and whether the recording is complete."""

    observations: Observations
    source: str
    arch: Arch
    runtime: str
    user: tuple[int, int] | None
    volumes: tuple[str, ...]
    seconds: float
    problems: tuple[str, ...]  # non-empty: the recording may miss something
    exercise: ClientResult | None
    unparsed_lines: int

    @property
    def complete(self) -> bool:
        return not self.problems


def native_arch() -> Arch:
    return Arch.AARCH64 if platform.machine() in ("aarch64", "arm64") else Arch.X86_64


@dataclass
class _Session:
    """The tracers of one recording and what is known about the traced processes."""

    opts: RecordOptions
    tracers: list[Tracer] = field(default_factory=list)
    programs: dict[int, str] = field(default_factory=dict)
    skip_until_exec: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def trace_file(self) -> Path:
        return self.opts.work / f"trace.{len(self.tracers)}"

    def attach(self, pids: Sequence[int]) -> None:
        for pid in pids:
            self.programs.setdefault(pid, procfs.comm(pid))
        tracer = Tracer.attach(self.trace_file(), sorted(pids))
        self.tracers.append(tracer)
        tracer.check_started()

    def follow(self, init_pid: int) -> None:
        """Attach to processes of the container that no tracer follows yet (docker exec)."""
        fresh = [p for p in procfs.members(init_pid) if procfs.tracer_of(p) == 0]
        fresh = [p for p in fresh if p not in self.programs]
        if fresh:
            self.opts.progress(f"attaching to {len(fresh)} new process(es)")
            self.attach(fresh)

    def stop(self) -> None:
        for tracer in self.tracers:
            tracer.stop()

    def finish(self, **facts: Any) -> Recording:
        self.stop()
        native = native_arch()
        observer = Observer(self.programs, self.skip_until_exec)
        unparsed = 0
        for tracer in self.tracers:
            result = tracer.result()
            parser = TraceParser(native)
            if result.trace.exists():
                with result.trace.open(errors="replace") as handle:
                    for line in handle:
                        call = parser.feed(line)
                        if call is not None:
                            observer.add(call)
            for call in parser.flush():
                observer.add(call)
            unparsed += parser.unparsed
        obs = observer.finish()
        if not obs.calls:
            self.problems.append("no system call was traced")
        exercise = facts.get("exercise")
        if isinstance(exercise, ClientResult) and not exercise.ok:
            status = "timed out" if exercise.exit_code is None else f"exit {exercise.exit_code}"
            self.problems.append(
                f"the exercise failed ({status}): {exercise.output.strip()[-300:] or 'no output'}"
            )
        return Recording(
            observations=obs,
            arch=native,
            seconds=time.monotonic() - self.started,
            problems=tuple(self.problems),
            unparsed_lines=unparsed,
            **facts,
        )


def _check_command(command: Sequence[str]) -> None:
    if not command:
        raise InputError("no command to record", hint="give it after --: harden record -- CMD")
    program = command[0]
    found = shutil.which(program) if "/" not in program else program
    if found is None or not os.access(found, os.X_OK) or Path(found).is_dir():
        raise InputError(
            f"command not found or not executable: {program!r}",
            hint="give a program on PATH or a path to an executable",
        )


def record_command(command: Sequence[str], opts: RecordOptions) -> Recording:
    """Run ``command`` under strace until it exits, the duration passes, or Ctrl-C."""
    _check_command(command)
    strace_binary()
    session = _Session(opts)
    tracer = Tracer.command(session.trace_file(), command)
    session.tracers.append(tracer)
    tracer.check_started()
    exercise: ClientResult | None = None
    ended_by_us = False
    try:
        if opts.exercise:
            exercise = _exercise_local(tracer, opts)
            ended_by_us = True
        else:
            ended_by_us = _wait(tracer.running, opts.duration)
    except KeyboardInterrupt:
        ended_by_us = True
    if tracer.running():
        terminate_command(tracer)
    code = tracer.wait()
    if not ended_by_us and code:
        session.problems.append(f"the command exited with status {code}")
    return session.finish(
        source="command " + " ".join(command),
        runtime="runc",
        user=(os.getuid(), os.getgid()),
        volumes=(),
        exercise=exercise,
    )


def _wait(alive: Callable[[], bool], duration: float | None) -> bool:
    """Wait while ``alive``; True when the duration ended it (not the workload)."""
    deadline = None if duration is None else time.monotonic() + duration
    while alive():
        if deadline is not None and time.monotonic() >= deadline:
            return True
        time.sleep(_POLL)
    return False


def _exercise_local(tracer: Tracer, opts: RecordOptions) -> ClientResult:
    import subprocess  # noqa: PLC0415

    deadline = time.monotonic() + opts.ready_timeout
    while time.monotonic() < deadline and tracer.running():
        owners = procfs.descendants(tracer.proc.pid)
        if owners and procfs.listening(next(iter(owners)), owners):
            break
        time.sleep(_POLL)
    start = time.monotonic()
    done = subprocess.run(
        ["sh", "-c", opts.exercise or "true"],
        capture_output=True,
        timeout=opts.exercise_timeout,
        check=False,
    )
    output = (done.stdout + done.stderr).decode(errors="replace")[-4000:]
    return ClientResult(opts.exercise or "", done.returncode, output, time.monotonic() - start)


def record_pid(pid: int, opts: RecordOptions) -> Recording:
    """Attach to a running process and its descendants (strace follows new children)."""
    strace_binary()
    if not procfs.alive(pid):
        raise InputError(f"no running process {pid}")
    program = procfs.comm(pid)
    user = procfs.ids(pid)
    session = _Session(opts)
    session.attach(sorted({pid} | procfs.descendants(pid)))
    try:
        _wait(lambda: procfs.alive(pid), opts.duration)
    except KeyboardInterrupt:
        opts.progress("interrupted: finishing the recording")
    return session.finish(
        source=f"process {pid} ({program})",
        runtime="runc",
        user=user,
        volumes=(),
        exercise=None,
    )


def record_container(client: Any, name: str, opts: RecordOptions) -> Recording:
    """Attach to every process of a running container and follow new ones."""
    import docker.errors  # noqa: PLC0415

    strace_binary()
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        raise InputError(f"no container named {name!r}", hint="docker ps lists them") from None
    running, _ = exit_status(container)
    init = container_pid(container)
    if not running or not init:
        raise InputError(f"container {name!r} is not running", hint="start it first")
    user = _user_ids(container.attrs.get("Config", {}).get("User") or "", init)
    session = _Session(opts)
    session.attach(sorted(procfs.members(init) or {init}))
    exercise = _run_loop(client, container, init, session, opts)
    if not procfs.alive(init):
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


def _run_loop(
    client: Any, container: Any, init: int, session: _Session, opts: RecordOptions
) -> ClientResult | None:
    """Follow new processes until the exercise ends, the duration passes or Ctrl-C."""
    exercise = None
    try:
        if opts.exercise:
            problem = wait_ready(container, set(), opts.ready_timeout)
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
        while procfs.alive(init) and (deadline is None or time.monotonic() < deadline):
            session.follow(init)
            time.sleep(_POLL * 2)
    except KeyboardInterrupt:
        opts.progress("interrupted: finishing the recording")
    return exercise


def record_image(client: Any, image: str, command: Sequence[str], opts: RecordOptions) -> Recording:
    """Start a new container of ``image`` traced from its first instruction."""
    strace_binary()
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
    session = _Session(opts)
    session.skip_until_exec.add(init)
    session.attach([init])
    _wait_traced(init)
    barrier.release(folder)
    opts.progress(f"recording {image}: {' '.join(argv)}")
    exercise = _run_loop(client, container, init, session, opts)
    running, code = exit_status(container)
    if running:
        container.stop(timeout=10)  # its shutdown is part of what it does
    elif code:
        session.problems.append(
            f"the workload exited with status {code}: {logs_tail(container, 5) or 'no output'}"
        )
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
    return procfs.passwd_ids(init, user)


def _wait_traced(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while procfs.tracer_of(pid) == 0:
        if time.monotonic() > deadline:
            raise PermissionProblem(
                f"strace did not attach to the container's process {pid}",
                hint="run as root; check kernel.yama.ptrace_scope",
            )
        time.sleep(0.01)
