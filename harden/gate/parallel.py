"""Reading and judging many input files on every core.

Parsing YAML, building facts and running CEL are all CPU-bound Python; with many files
the walked inputs are cut into contiguous chunks, each read and judged in a forked
worker (which inherits the compiled rules), and the results are put back together in
input order, so the report is the same as one process would make. Workers send back
slim targets and compact findings (rule ids and plain tuples: compiled CEL programs do
not cross processes); input errors come back as their diagnostics.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from harden.audit.rules.compact import Packer, Unpacker
from harden.audit.rules.evaluator import Evaluator
from harden.audit.rules.model import Finding
from harden.audit.sources.files import Collected, read_inputs
from harden.audit.state.model import TargetState
from harden.errors import HardenError, Reported

PARALLEL_FROM = 64  # inputs; below this a second process costs more than it saves
CHUNK = 250  # inputs per task
Judged = list[tuple[TargetState, tuple[Finding, ...]]]
Slim = Callable[[TargetState], TargetState]
_CONTEXT: dict[str, Any] = {}  # set before the fork, read in the workers
Compact = tuple[TargetState, list[Any]]


def workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def judge_inputs(
    inputs: list[tuple[Path, bool]],
    ignore: frozenset[str],
    evaluator: Evaluator,
    slim: Slim,
    *,
    jobs: int,
    parallel_from: int = PARALLEL_FROM,
) -> tuple[Collected, Judged]:
    if (
        jobs < 2
        or len(inputs) < parallel_from
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return _serial(inputs, ignore, evaluator, slim)
    _CONTEXT.update(evaluator=evaluator, ignore=ignore, slim=slim)
    # small chunks: a worker holds (and pickles) one chunk's results at a time
    size = min(-(-len(inputs) // (jobs * 4)), CHUNK)
    chunks = [inputs[i : i + size] for i in range(0, len(inputs), size)]
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            return _combine(pool.map(_work, chunks), evaluator)  # unpacks while workers run
    finally:
        _CONTEXT.clear()


def _serial(
    inputs: list[tuple[Path, bool]], ignore: frozenset[str], evaluator: Evaluator, slim: Slim
) -> tuple[Collected, Judged]:
    judged: Judged = []

    def keep(state: TargetState) -> TargetState:
        kept = slim(state)
        judged.append((kept, evaluator.run(state)))
        return kept

    return read_inputs(inputs, ignore, keep=keep), judged


def _work(chunk: list[tuple[Path, bool]]) -> tuple[Collected, list[Compact]]:
    collected, judged = _serial(chunk, _CONTEXT["ignore"], _CONTEXT["evaluator"], _CONTEXT["slim"])
    collected.errors = [Reported(e.diagnostics()) for e in collected.errors]
    packer = Packer(_CONTEXT["evaluator"].rules)
    return collected, [(state, packer.pack(findings)) for state, findings in judged]


def _combine(
    parts: Iterable[tuple[Collected, list[Compact]]], evaluator: Evaluator
) -> tuple[Collected, Judged]:
    out = Collected()
    judged: Judged = []
    errors: list[HardenError] = []
    unpacker = Unpacker(evaluator.rules)
    for collected, compact in parts:
        out.targets.extend(collected.targets)
        out.problems.extend(collected.problems)
        errors.extend(collected.errors)
        out.ignored_files += collected.ignored_files
        out.files += collected.files
        for kind, count in collected.ignored_kinds.items():
            out.ignored_kinds[kind] = out.ignored_kinds.get(kind, 0) + count
        for state, items in compact:
            judged.append((state, unpacker.unpack(items)))
    out.errors = errors
    return out, judged
