"""The one way harden runs work in parallel: a fork-based map over chunks.

Reading and judging many containers, manifests or reports is CPU-bound Python (parsing,
building facts, running CEL), so it scales with processes, not threads. :func:`map_chunks`
forks ``jobs`` children that inherit everything already loaded (compiled rules, the
prepared scan): no imports, no pool threads, no queues, which for a 100-container audit
would cost more than they save. Child ``i`` runs ``work`` on every ``jobs``-th chunk and
sends each result back, pickled, through its own pipe; the results are yielded in chunk
order while the children go on, so the caller holds one chunk's results at a time.

With ``share=True`` this process takes the first child's chunks itself (one fork fewer;
right when there are about as many chunks as jobs, as for the audit's two halves).

A child that fails in any way (an exception, a signal, a short or undecodable result)
costs only time: its remaining chunks are done here, so the result is always the one a
single process makes. Children exit with ``os._exit``: no atexit handlers, no flushing of
the parent's buffers.

:func:`no_cycle_collection` keeps the cyclic garbage collector off for a stretch of such
work (children forked inside it inherit that).

:class:`Ahead` is the thread counterpart for waiting, not computing: a question to an
engine or runtime sent while this process goes on loading its rules.

:func:`in_new_session` is the other forked work: one child in a session of its own
(``harden run``'s confined program), this process waiting for it.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import signal
import struct
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_HEADER = struct.Struct("!Q")
_PIPE_BYTES = 1 << 20  # let a child run a chunk ahead of the reader (Linux default max)


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off, then as it was.

    Reading, judging and reporting make hundreds of thousands of small objects with no
    reference cycles that live until the work is done: each full collection walks all of
    them and frees nothing (~15% of a 100-container audit; 1.3 s once in a 10,000-manifest
    gate). Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Ahead(Generic[T]):
    """``fetch()`` started now, on a thread of its own (or here, without ``background``);
    :meth:`result` hands its value over on the caller's thread and raises there what it
    raised, so that no error of the fetching thread is lost."""

    def __init__(self, fetch: Callable[[], T], *, name: str, background: bool = True) -> None:
        self._fetch = fetch
        self._value: T | None = None
        self._raised: BaseException | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()
        else:
            self._run()

    def _run(self) -> None:
        try:
            self._value = self._fetch()
        except BaseException as exc:  # raised on the caller's thread by result()
            self._raised = exc

    def result(self) -> T:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._raised is not None:
            raise self._raised
        return self._value  # type: ignore[return-value]  # set by _run when nothing raised


def workers(limit: int = 4) -> int:
    """How many processes to use: one per core, at most ``limit``."""
    return max(1, min(os.cpu_count() or 1, limit))


def chunked(items: Sequence[T], parts: int, *, most: int = 0) -> list[Sequence[T]]:
    """``items`` cut into ``parts`` contiguous chunks of near-equal size (smaller chunks
    of at most ``most`` items when given)."""
    size = max(1, -(-len(items) // max(1, parts)))
    if most:
        size = min(size, most)
    return [items[i : i + size] for i in range(0, len(items), size)]


def map_chunks(
    work: Callable[[Sequence[T]], R],
    chunks: Sequence[Sequence[T]],
    *,
    jobs: int,
    share: bool = False,
) -> Generator[R, None, None]:
    """``work(chunk)`` for each chunk, in order, computed by up to ``jobs`` processes."""
    if jobs < 2 or len(chunks) < 2 or not hasattr(os, "fork"):
        for chunk in chunks:
            yield work(chunk)
        return
    jobs = min(jobs, len(chunks))
    children = {w: _Child.start(work, chunks[w::jobs]) for w in range(1 if share else 0, jobs)}
    finished = False
    try:
        own = [work(chunk) for chunk in chunks[0::jobs]] if share else []
        for index, chunk in enumerate(chunks):
            who, turn = index % jobs, index // jobs
            child = children.get(who)
            if child is None:
                yield own[turn]
                continue
            result = child.next()
            yield work(chunk) if result is _FAILED else result
        finished = True
    finally:
        for child in children.values():
            child.stop(kill=not finished)


_FAILED: Any = object()


@dataclass
class _Child:
    pid: int
    pipe: Any  # the read end, as a buffered binary file; None once finished or failed
    failed: bool = False

    @classmethod
    def start(cls, work: Callable[[Sequence[T]], R], chunks: Sequence[Sequence[T]]) -> _Child:
        read, write = os.pipe()
        with contextlib.suppress(OSError):
            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return cls(-1, None, failed=True)
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(read)
                with os.fdopen(write, "wb") as pipe:
                    for chunk in chunks:
                        data = pickle.dumps(work(chunk), protocol=pickle.HIGHEST_PROTOCOL)
                        pipe.write(_HEADER.pack(len(data)))
                        pipe.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        return cls(pid, os.fdopen(read, "rb"))

    def next(self) -> Any:
        """The child's next result, or _FAILED (then every later one is _FAILED too)."""
        if self.failed or self.pipe is None:
            return _FAILED
        try:
            header = self.pipe.read(_HEADER.size)
            if len(header) == _HEADER.size:
                (size,) = _HEADER.unpack(header)
                data = self.pipe.read(size)
                if len(data) == size:
                    return pickle.loads(data)  # noqa: S301 - our own child, our own pipe
        except Exception:  # noqa: S110 - any failure: the work is redone here
            pass
        self.failed = True
        self.stop(kill=True)
        return _FAILED

    def stop(self, *, kill: bool) -> None:
        """Close the pipe and reap the child: killed first when its work is not wanted
        any more (it failed, or the caller stopped early)."""
        if self.pipe is not None:
            self.pipe.close()
            self.pipe = None
        if self.pid > 0:
            with contextlib.suppress(OSError):
                if kill:
                    os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            self.pid = -1


FORWARDED = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


def in_new_session(child: Callable[[], object]) -> int:
    """Run ``child`` (which execs, or raises) in a forked process that leads a new session:
    it has no controlling terminal, so it cannot push input into the caller's (TIOCSTI)
    even where a filter would let it. This process forwards the usual signals to it and
    returns its exit status (128 + the signal that killed it). A HardenError in the child
    exits with its code after its diagnostics; anything else with 70."""
    from harden.errors import ExitCode, HardenError  # noqa: PLC0415

    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = int(ExitCode.INTERNAL)
        try:
            os.setsid()
            child()
        except HardenError as exc:
            os.write(2, (exc.diagnostics() + "\n").encode(errors="replace"))
            code = int(exc.exit_code)
        except BaseException as exc:
            text = f"internal error: {type(exc).__name__}: {exc}\n"
            os.write(2, text.encode(errors="replace"))
        finally:
            os._exit(code)
    previous = {s: signal.signal(s, lambda number, _frame: os.kill(pid, number)) for s in FORWARDED}
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)
