"""Finishing and judging many containers on two cores.

After the engine answered (one process: the inspects, the declared layers and the
shared-namespace chains), what is left per container is CPU work: reading and parsing
its /proc and cgroup files, and running the rules. With many containers, one forked
child does the second half of that work while this process does the first. The child
inherits the compiled rules and the prepared scan, opens its own engine connection only
if a container has exec sessions to ask about, and sends back slim targets and compact
findings (:mod:`harden.audit.rules.compact`) through a pipe. A plain fork and a pipe, not a
process pool: the pool's imports, threads and queues cost more than a 100-container
audit saves. If the child fails in any way, this process does its half too: the report
is always the one a single process makes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable
from typing import Any

from harden.audit.report_build import slim
from harden.audit.rules.compact import Packer, Unpacker
from harden.audit.rules.evaluator import Evaluator
from harden.audit.rules.model import Finding
from harden.audit.sources.docker.engine import (
    FinishAll,
    Pending,
    Prepared,
    finish,
    finish_here,
)
from harden.audit.state.model import TargetState
from harden.system import engine as dockerapi

PARALLEL_FROM = 48  # containers; below this the fork and the pipe cost more than they save
Judged = dict[str, tuple[Finding, ...]]


def finish_all(evaluator: Evaluator, judged: Judged, *, parallel_from: int = 0) -> FinishAll:
    """A finisher for :func:`harden.audit.sources.docker.engine.scan` that also judges
    each container it finishes (into ``judged``), half of them in a forked child."""
    start = parallel_from or PARALLEL_FROM

    def run(prepared: Prepared, api: dockerapi.EngineAPI) -> list[TargetState]:
        items = prepared.pending
        if len(items) < start or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
            return finish_here(prepared, api)
        half = len(items) // 2
        child = _fork(lambda: _in_child(prepared, items[half:], evaluator))
        done = _judge(prepared, items[:half], evaluator, lambda: api)
        packed = _collect(child)
        if packed is None:  # the child failed: its half is done here
            done += _judge(prepared, items[half:], evaluator, lambda: api)
        else:
            unpacker = Unpacker(evaluator.rules)
            done += [(state, unpacker.unpack(compact)) for state, compact in packed]
        judged.update((state.id, findings) for state, findings in done)
        return [state for state, _findings in done]

    return run


def _judge(
    prepared: Prepared,
    items: list[Pending],
    evaluator: Evaluator,
    api: Callable[[], dockerapi.EngineAPI],
) -> list[tuple[TargetState, tuple[Finding, ...]]]:
    """Each container finished, judged and kept slim (what the report needs of it)."""
    out = []
    for item in items:
        state = finish(prepared, item, api)
        out.append((slim(state), evaluator.run(state)))
    return out


def _in_child(
    prepared: Prepared, items: list[Pending], evaluator: Evaluator
) -> list[tuple[TargetState, list[Any]]]:
    """The child's half, packed to cross the pipe, on its own engine connection (opened
    only if a container has exec sessions: the parent's is not ours to share)."""
    own: list[dockerapi.EngineAPI] = []

    def api() -> dockerapi.EngineAPI:
        if not own:
            own.append(dockerapi.connect())
        return own[0]

    try:
        done = _judge(prepared, items, evaluator, api)
    finally:
        for connection in own:
            connection.close()
    packer = Packer(evaluator.rules)
    return [(state, packer.pack(findings)) for state, findings in done]


def _fork(work: Callable[[], Any]) -> tuple[int, int] | None:
    """(pid, read end) of a child that pickles ``work()`` into a pipe; None: no child."""
    try:
        read, write = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read)
            data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
    os.close(write)
    return pid, read


def _collect(child: tuple[int, int] | None) -> Any:
    """The child's result, or None when it failed (a crash, a signal, bad data)."""
    if child is None:
        return None
    pid, read = child
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _pid, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    with contextlib.suppress(Exception):
        return pickle.loads(data)  # noqa: S301 - our own child's pickle, through our own pipe
    return None
