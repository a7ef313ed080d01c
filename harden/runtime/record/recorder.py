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

from harden.errors import InputError
from harden.kernel.syscalls import Arch
from harden.progress import Progress, no_progress, step
from harden.runtime.container import DEFAULT_PREFIX, ClientResult, Where
from harden.runtime.record.backend import Backend
from harden.runtime.record.observe import Observations, Observer
from harden.runtime.record.strace import Tracer, terminate_command
from harden.runtime.record.trace import TraceParser
from harden.system import proc, tools

POLL_SECONDS = 0.1


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
    backend: Backend = Backend.AUTO
    ready: str | None = None  # a command that succeeds once the workload is ready
    progress: Progress = no_progress


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
    backend: str = "strace"
    details: tuple[str, ...] = ()  # what the recorder saw beyond the spec's fields

    @property
    def complete(self) -> bool:
        return not self.problems


def native_arch() -> Arch:
    return Arch.AARCH64 if platform.machine() in ("aarch64", "arm64") else Arch.X86_64


@dataclass
class Session:
    """The tracers of one recording and what is known about the traced processes."""

    opts: RecordOptions
    tracers: list[Tracer] = field(default_factory=list)
    programs: dict[int, str] = field(default_factory=dict)
    skip_until_exec: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    notes: list[str] = field(default_factory=list)

    def trace_file(self) -> Path:
        return self.opts.work / f"trace.{len(self.tracers)}"

    def attach(self, pids: Sequence[int]) -> None:
        for pid in pids:
            self.programs.setdefault(pid, proc.comm(pid))
        tracer = Tracer.attach(self.trace_file(), sorted(pids))
        self.tracers.append(tracer)
        tracer.check_started()

    def follow(self, init_pid: int) -> None:
        """Attach to processes of the container that no tracer follows yet (docker exec)."""
        fresh = [p for p in proc.members(init_pid) if proc.tracer_of(p) == 0]
        fresh = [p for p in fresh if p not in self.programs]
        if fresh:
            step(self.opts.progress, f"attaching to {len(fresh)} new process(es)")
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
        self.problems += exercise_problems(facts.get("exercise"))
        return Recording(
            observations=obs,
            arch=native,
            seconds=time.monotonic() - self.started,
            problems=tuple(self.problems),
            unparsed_lines=unparsed,
            details=tuple(self.notes),
            **facts,
        )


def exercise_problems(exercise: object) -> list[str]:
    """Why a recording is incomplete because of its exercise (none when it passed)."""
    if not isinstance(exercise, ClientResult) or exercise.ok:
        return []
    status = "timed out" if exercise.exit_code is None else f"exit {exercise.exit_code}"
    return [f"the exercise failed ({status}): {exercise.output.strip()[-300:] or 'no output'}"]


def _check_command(command: Sequence[str]) -> tuple[str, ...]:
    """The command with its program as an absolute path (the spec's files are absolute)."""
    if not command:
        raise InputError("no command to record", hint="give it after --: harden record -- CMD")
    program = command[0]
    found = shutil.which(program) if "/" not in program else program
    if found is None or not os.access(found, os.X_OK) or Path(found).is_dir():
        raise InputError(
            f"command not found or not executable: {program!r}",
            hint="give a program on PATH or a path to an executable",
        )
    return (str(Path(found).absolute()), *command[1:])


def record_command(command: Sequence[str], opts: RecordOptions) -> Recording:
    """Run ``command`` under strace until it exits, the duration passes, or Ctrl-C."""
    command = _check_command(command)
    tools.require("strace")
    session = Session(opts)
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
        time.sleep(POLL_SECONDS)
    return False


def _exercise_local(tracer: Tracer, opts: RecordOptions) -> ClientResult:
    deadline = time.monotonic() + opts.ready_timeout
    while time.monotonic() < deadline and tracer.running():
        owners = proc.descendants(tracer.process.pid)
        if owners and proc.listening(next(iter(owners)), owners):
            break
        time.sleep(POLL_SECONDS)
    done = tools.run(["sh", "-c", opts.exercise or "true"], timeout=opts.exercise_timeout)
    return ClientResult.of(opts.exercise or "", done)


def record_pid(pid: int, opts: RecordOptions) -> Recording:
    """Attach to a running process and its descendants (strace follows new children)."""
    tools.require("strace")
    if not proc.alive(pid):
        raise InputError(f"no running process {pid}")
    program = proc.comm(pid)
    user = proc.real_ids(proc.status_of(pid))
    session = Session(opts)
    session.attach(sorted({pid} | proc.descendants(pid)))
    try:
        _wait(lambda: proc.alive(pid), opts.duration)
    except KeyboardInterrupt:
        step(opts.progress, "interrupted: finishing the recording")
    return session.finish(
        source=f"process {pid} ({program})",
        runtime="runc",
        user=user,
        volumes=(),
        exercise=None,
    )
