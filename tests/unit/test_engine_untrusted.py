"""The engine is untrusted input (issue 12, section 4): malformed and slow answers, and
daemon rules that judge the engine audited, through `harden audit` against fake engines.

The fake engines are tests/fakeengine.py, answering with a captured /info and inspect.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harden.errors import ExitCode
from harden.system.engine import DEFAULT_TIMEOUT
from tests.conftest import run_harden
from tests.fakeengine import (
    Answer,
    answers_for,
    http,
    info,
    inspect_object,
    serving,
    tcp_server,
    unix_engine,
)

INSPECT = inspect_object()
DOCKER_INFO = info()
PODMAN_INFO = info("podman-info.json")


def _engine_answers(info_doc: dict[str, Any] = DOCKER_INFO) -> dict[str, Answer]:
    return answers_for(info_doc, [INSPECT])


@pytest.fixture
def fake_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[dict[str, Answer]], str]]:
    """Start a fake engine on a unix socket and point DOCKER_HOST at it."""
    with contextlib.ExitStack() as stack:

        def start(answers: dict[str, Answer]) -> str:
            path = str(tmp_path / "engine.sock")
            stack.enter_context(unix_engine(path, answers))
            monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
            return path

        yield start


def _audit(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "report.json"
    out.unlink(missing_ok=True)
    result = run_harden("audit", "--format", "json", "-o", str(out), *args)
    assert "Traceback" not in result.output
    assert "internal error" not in result.output, result.output
    return result.code, json.loads(out.read_text()), result.output


def _drip(data: bytes, every: float = 0.2) -> Callable[[Any], None]:
    def write(wfile: Any) -> None:
        for byte in data:
            wfile.write(bytes([byte]))
            wfile.flush()
            time.sleep(every)

    return write


BROKEN_INFO: dict[str, Answer] = {
    "bad status line": b"HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\n{}",
    "not http at all": b"SSH-2.0-OpenSSH_9.2\r\n",
    "letters in Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n{}",
    "negative Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}",
    "Content-Length past the body": b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
    b"Content-Length: 999\r\n\r\n{}",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "chunk longer than its size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1\r\n{}\r\n0\r\n\r\n",
    "a header without a colon": b"HTTP/1.1 200 OK\r\nnonsense\r\nContent-Length: 2\r\n\r\n{}",
    "JSON 100,000 deep": http(b"[" * 100_000 + b"]" * 100_000),
    "not JSON": http(b"<html>proxy error</html>"),
}


@pytest.mark.parametrize("what", sorted(BROKEN_INFO))
def test_a_malformed_answer_is_exit_4_with_a_report(
    fake_engine: Callable[[dict[str, Answer]], str], tmp_path: Path, what: str
) -> None:
    fake_engine({**_engine_answers(), "/info": BROKEN_INFO[what]})
    code, report, output = _audit(tmp_path, "--timeout", "3")
    assert code == ExitCode.ENVIRONMENT, output
    assert report["scan"]["engine_unavailable"] is True
    assert "the container engine cannot be used" in report["scan"]["problems"][0]
    assert [t["kind"] for t in report["targets"]] == ["host"]


@pytest.mark.parametrize("names", [{"": None}, "web", [], [7], None])
def test_a_container_list_of_odd_names_is_read_by_id(
    fake_engine: Callable[[dict[str, Answer]], str], tmp_path: Path, names: object
) -> None:
    answers = _engine_answers()
    answers["/containers/json"] = [{"Id": INSPECT["Id"], "Names": names}]
    fake_engine(answers)
    code, report, output = _audit(tmp_path, "--fail-on", "never")
    assert code in (ExitCode.OK, ExitCode.INCOMPLETE), output
    assert INSPECT["Id"] in {t["id"] for t in report["targets"]}


def test_a_malformed_inspect_answer_stops_the_scan_with_exit_4(
    fake_engine: Callable[[dict[str, Answer]], str], tmp_path: Path
) -> None:
    bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"
    fake_engine({**_engine_answers(), f"/containers/{INSPECT['Id']}/json": bad})
    code, report, output = _audit(tmp_path)
    assert code == ExitCode.ENVIRONMENT, output
    assert "malformed: bad chunk size" in report["scan"]["problems"][0]


def test_an_engine_that_sends_a_byte_at_a_time_meets_the_deadline(
    fake_engine: Callable[[dict[str, Answer]], str], tmp_path: Path
) -> None:
    fake_engine({**_engine_answers(), "/info": _drip(http(json.dumps(DOCKER_INFO).encode()))})
    started = time.monotonic()
    code, report, output = _audit(tmp_path, "--timeout", "1")
    assert time.monotonic() - started < 10
    assert code == ExitCode.ENVIRONMENT, output
    assert "/info: no complete answer within 1 s" in report["scan"]["problems"][0]
    assert "--timeout SECONDS" in report["scan"]["problems"][0]  # the hint


def test_a_slow_inspect_fails_once_not_once_per_container(
    fake_engine: Callable[[dict[str, Answer]], str], tmp_path: Path
) -> None:
    answers = _engine_answers()
    ids = [f"{n:064x}" for n in range(20)]
    answers["/containers/json"] = [{"Id": i, "Names": [f"/c{n}"]} for n, i in enumerate(ids)]
    for i in ids:
        answers[f"/containers/{i}/json"] = _drip(http(json.dumps(INSPECT).encode()), 0.5)
    fake_engine(answers)
    started = time.monotonic()
    code, report, _ = _audit(tmp_path, "--timeout", "1")
    assert time.monotonic() - started < 10  # not 20 x the deadline
    assert code == ExitCode.ENVIRONMENT
    assert "no complete answer within 1 s" in report["scan"]["problems"][0]


def test_the_deadline_has_a_documented_default() -> None:
    result = run_harden("audit", "--help")
    assert f"[default: {DEFAULT_TIMEOUT}" in " ".join(result.stdout.split())
    bad = run_harden("audit", "--timeout", "0")
    assert bad.code == ExitCode.INPUT


def test_a_tcp_engine_that_never_accepts_meets_the_connect_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    waiting = [socket.create_connection(listener.getsockname(), timeout=1)]  # the backlog
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    try:
        started = time.monotonic()
        code, report, _ = _audit(tmp_path, "--timeout", "1")
        assert time.monotonic() - started < 15
    finally:
        for sock in (*waiting, listener):
            sock.close()
    assert code == ExitCode.ENVIRONMENT
    assert report["scan"]["engine_unavailable"] is True


def _daemon_findings(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    host = next(t for t in report["targets"] if t["kind"] == "host")
    findings = {f["rule"]: f for f in host["findings"]}
    findings.update({r: {"rule": r, "status": "pass"} for r in host["passed"]})
    return findings


def test_a_tcp_engine_is_judged_without_the_local_dockerd_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = tcp_server()
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{server.server_address[1]}")
    with serving(server, _engine_answers()):
        code, report, output = _audit(tmp_path, "--fail-on", "never")
    assert code in (ExitCode.OK, ExitCode.INCOMPLETE), output
    findings = _daemon_findings(report)
    # icc, default bridge, TLS...: dockerd arguments, unreadable for a remote engine
    for rule in ("DMN-002", "DMN-003"):
        assert findings[rule]["status"] == "skipped", findings[rule]
        assert "remote" in findings[rule]["message"]


def test_a_unix_socket_no_local_dockerd_serves_is_not_judged_by_its_arguments(
    fake_engine: Callable[[dict[str, Answer]], str], tmp_path: Path
) -> None:
    path = fake_engine(_engine_answers())
    code, report, output = _audit(tmp_path, "--fail-on", "never")
    assert code in (ExitCode.OK, ExitCode.INCOMPLETE), output
    findings = _daemon_findings(report)
    assert findings["DMN-002"]["status"] == "skipped"
    assert f"no dockerd on this host serves unix://{path}" in findings["DMN-002"]["message"]
    assert findings["DMN-016"]["status"] == "pass"  # /info: the default seccomp profile


def test_podman_is_no_docker_daemon_and_its_experimental_flag_no_finding(
    fake_engine: Callable[[dict[str, Answer]], str], tmp_path: Path
) -> None:
    fake_engine(_engine_answers(PODMAN_INFO))
    code, report, output = _audit(tmp_path, "--fail-on", "low")
    assert code in (ExitCode.FAILED, ExitCode.INCOMPLETE)  # the inspect, not the daemon
    findings = _daemon_findings(report)
    assert findings["DMN-017"]["status"] == "skipped", findings["DMN-017"]
    assert {f["status"] for r, f in findings.items() if r.startswith("DMN-")} == {"skipped"}
    assert "DMN-017" not in output


def test_a_missing_socket_is_not_judged_by_the_local_dockerd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/missing.sock")
    code, report, _ = _audit(tmp_path)
    assert code == ExitCode.ENVIRONMENT
    findings = _daemon_findings(report)
    daemon = {r: f for r, f in findings.items() if r.startswith("DMN-")}
    assert daemon
    assert {f["status"] for f in daemon.values()} == {"error"}
    assert all("missing.sock" in f["message"] for f in daemon.values())
