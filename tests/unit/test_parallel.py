"""The one parallel map: results in order and equal to one process's, whatever a worker does."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from harden.system.parallel import chunked, map_chunks

PARENT = os.getpid()


def _square(chunk: Sequence[int]) -> list[tuple[int, int]]:
    return [(n, n * n) for n in chunk]


@pytest.mark.parametrize("share", [False, True])
@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_results_come_back_in_order_equal_to_one_process(jobs: int, share: bool) -> None:
    chunks = chunked(list(range(1000)), 7)
    assert list(map_chunks(_square, chunks, jobs=jobs, share=share)) == [_square(c) for c in chunks]


def test_big_results_pass_through_the_pipes() -> None:
    chunks = chunked(list(range(40)), 4)

    def big(chunk: Sequence[int]) -> list[str]:
        return ["x" * 100_000 + str(n) for n in chunk]  # 1 MB per chunk: past a pipe's buffer

    assert list(map_chunks(big, chunks, jobs=2)) == [big(c) for c in chunks]


def _dies_in_a_child(how: str) -> Callable[[Sequence[int]], list[int]]:
    def work(chunk: Sequence[int]) -> list[int]:
        if os.getpid() != PARENT:
            if how == "raise":
                raise RuntimeError("worker broke")
            if how == "exit":
                os._exit(0)  # exits without sending anything
            os.kill(os.getpid(), signal.SIGKILL)
        return [n + 1 for n in chunk]

    return work


@pytest.mark.parametrize("how", ["raise", "exit", "kill"])
def test_a_failing_worker_costs_time_not_results(how: str) -> None:
    chunks = chunked(list(range(100)), 8)
    work = _dies_in_a_child(how)
    assert list(map_chunks(work, chunks, jobs=2)) == [[n + 1 for n in c] for c in chunks]


def test_no_worker_outlives_a_caller_that_stops_early() -> None:
    chunks = chunked(list(range(100)), 10)
    results = map_chunks(_square, chunks, jobs=2)
    assert next(results) == _square(chunks[0])
    results.close()  # the caller stopped: every forked child is killed and reaped
    assert _forked_children() == []


def _forked_children() -> list[int]:
    """Children of this process that are copies of it (alive or zombie)."""
    me = os.getpid()
    own = Path(f"/proc/{me}/cmdline").read_bytes()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me and cmdline == own:
            out.append(int(entry.name))
    return out


def test_chunks_cover_every_item_once_in_order() -> None:
    items = list(range(1003))
    for parts, most in ((1, 0), (4, 0), (8, 250), (2000, 0)):
        chunks = chunked(items, parts, most=most)
        assert [n for c in chunks for n in c] == items
        assert all(len(c) <= most for c in chunks) if most else len(chunks) <= parts
