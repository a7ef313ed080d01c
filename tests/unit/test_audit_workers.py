"""The forked child of a big audit: its result comes back whole, or not at all."""

from __future__ import annotations

import os
import signal

from harden.audit import workers


def test_a_child_sends_its_result_back_through_the_pipe() -> None:
    big = [("x" * 100, i, {"k": [i] * 10}) for i in range(20_000)]  # far past a pipe's buffer
    assert workers._collect(workers._fork(lambda: big)) == big


def test_a_failing_child_gives_nothing_and_the_parent_goes_on() -> None:
    assert workers._collect(workers._fork(lambda: 1 / 0)) is None
    assert workers._collect(workers._fork(lambda: os._exit(0))) is None  # exited, sent nothing
    assert workers._collect(workers._fork(lambda: os.kill(os.getpid(), signal.SIGKILL))) is None
