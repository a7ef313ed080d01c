"""No engine answer makes harden crash: the engine's answers, mutated (issue 12, section 4).

A fake engine (tests/fakeengine.py) answers /info, the container list and each inspect
from captured ones; each case mutates one answer's JSON tree (tests/fuzz/mutate.py) or
its HTTP framing (a flipped, cut or inserted byte; a chunked body with odd sizes) and
runs `harden audit` against it in a random format. Asserted: the exit code is 0, 1, 3
or 4 (never 70, never a traceback), and an exit 4 still writes the report.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import DATA, run_harden
from tests.fakeengine import Answer, answers_for, http, info, inspect_object, unix_engine
from tests.fuzz.kinds import FORMATS
from tests.fuzz.mutate import mutated_tree
from tests.fuzz.test_fuzz_inputs import FUZZ

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore:Generating overly large repr")]


def _inspects() -> list[dict[str, Any]]:
    out = [inspect_object("docker-20.10.json"), inspect_object("podman-4.json")]
    corpus = json.loads((DATA / "gate" / "corpus" / "inspect.json").read_text())
    for raw in corpus:
        raw["State"] = {"Running": False, "Pid": 0, "Status": "exited"}
        out.append(raw)
    return out


INFOS = (info("docker-info.json"), info("podman-info.json"))
INSPECTS = _inspects()


@st.composite
def framed(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` as an HTTP answer whose framing may be broken."""
    how = draw(st.sampled_from(("sized", "sized", "chunked", "bytes", "cut")))
    if how == "chunked":
        rest, parts = body, []
        while rest:
            size = draw(st.integers(1, max(len(rest), 1)))
            parts.append(b"%x\r\n%s\r\n" % (size, rest[:size]))
            rest = rest[size:]
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + b"".join(parts) + b"0\r\n\r\n"
    answer = http(body)
    if how == "bytes":
        at = draw(st.integers(0, min(len(answer) - 1, 120)))  # mostly the head
        return answer[:at] + bytes([draw(st.integers(0, 255))]) + answer[at + 1 :]
    if how == "cut":
        return answer[: draw(st.integers(0, len(answer)))]
    return answer


@st.composite
def engines(draw: st.DrawFn) -> dict[str, Answer]:
    """The answers of an engine, one of them mutated."""
    inspects = draw(st.lists(st.sampled_from(range(len(INSPECTS))), min_size=1, max_size=3))
    chosen = [json.loads(json.dumps(INSPECTS[i])) for i in dict.fromkeys(inspects)]
    answers = answers_for(json.loads(json.dumps(draw(st.sampled_from(INFOS)))), chosen)
    path = draw(st.sampled_from(sorted(answers)))
    document = answers[path]
    if draw(st.booleans()):
        document = draw(mutated_tree(document))
    answers[path] = draw(framed(json.dumps(document).encode()))
    return answers


@contextlib.contextmanager
def _engine(tmp: Path) -> Iterator[Any]:
    path = str(tmp / "engine.sock")
    old = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = f"unix://{path}"
    try:
        with unix_engine(path, {}) as server:
            yield server
    finally:
        if old is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = old


def test_no_engine_answer_crashes_harden(tmp_path: Path) -> None:
    out = tmp_path / "report"
    with _engine(tmp_path) as server:

        @FUZZ
        @given(answers=engines(), fmt=st.sampled_from(FORMATS), to_file=st.booleans())
        def run(answers: dict[str, Answer], fmt: str, to_file: bool) -> None:
            server.answers = answers
            out.unlink(missing_ok=True)
            written = ["-o", str(out)] if to_file else []
            result = run_harden("audit", "--format", fmt, "--timeout", "1", *written)
            context = f"--format {fmt}: exit {result.code}\n{result.output[-3000:]}"
            assert result.code in (0, 1, 3, 4), context
            assert "Traceback" not in result.output, context
            if to_file and result.code == 4:
                assert out.exists(), context

        run()
