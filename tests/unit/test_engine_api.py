"""The lean engine client against a fake engine on a unix socket, and transport choice.

The real engine is exercised by the integration tests; a fake one here makes the HTTP
corner cases happen on purpose: chunked bodies, errors in a pipelined batch, a server
that closes kept-alive connections.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden.cli import cli
from harden.errors import ExitCode
from harden.system.engine import (
    EngineError,
    Failure,
    SdkAPI,
    UnixSocketAPI,
    connect,
    container_path,
    docker_client,
)
from tests.fakeengine import answers_for, info, inspect_object, unix_engine


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            line = self.rfile.readline()
            if not line:
                return
            path = line.split()[1].decode()
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            self.server.requests.append(path)  # type: ignore[attr-defined]
            if not self._answer(path):
                return

    def _answer(self, path: str) -> bool:
        if path == "/containers/json":
            body = json.dumps([{"Id": f"c{i}", "Names": [f"/n{i}"]} for i in range(3)]).encode()
            chunks = b"".join(
                b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7])
                for i in range(0, len(body), 7)
            )
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
            )
            return True
        status, keep = "200 OK", True
        if "gone" in path:
            status, body = "404 Not Found", b'{"message": "No such container: gone"}'
        elif "secret" in path:
            status, body = "403 Forbidden", b'{"message": "authorization denied by plugin"}'
        else:
            body = json.dumps({"Id": path.split("/")[2], "path": path}).encode()
            keep = "close" not in path
        headers = f"Content-Length: {len(body)}\r\n" + ("" if keep else "Connection: close\r\n")
        self.wfile.write(f"HTTP/1.1 {status}\r\n{headers}\r\n".encode() + body)
        return keep


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    path = str(tmp_path / "engine.sock")
    server = socketserver.ThreadingUnixStreamServer(path, _Handler)
    server.daemon_threads = True  # a client that keeps its connection open must not block
    server.block_on_close = False
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield path, server.requests  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_chunked_and_sized_answers_on_one_connection(engine: tuple[str, list[str]]) -> None:
    path, requests = engine
    api = UnixSocketAPI(path)
    assert [c["Id"] for c in api.get("/containers/json")] == ["c0", "c1", "c2"]
    assert api.get(container_path("c1"))["Id"] == "c1"
    assert requests == ["/containers/json", "/containers/c1/json"]
    api.close()


def test_errors_are_classified(engine: tuple[str, list[str]]) -> None:
    api = UnixSocketAPI(engine[0])
    with pytest.raises(EngineError) as gone:
        api.get(container_path("gone"))
    assert gone.value.failure is Failure.NOT_FOUND
    assert "No such container: gone" in gone.value.reason
    with pytest.raises(EngineError) as denied:
        api.get(container_path("secret"))
    assert denied.value.failure is Failure.DENIED
    assert "authorization denied by plugin" in denied.value.reason
    api.close()


def test_pipelined_answers_keep_their_order_and_errors(engine: tuple[str, list[str]]) -> None:
    api = UnixSocketAPI(engine[0])
    names = [f"a{i}" for i in range(40)]
    names[7], names[20] = "gone", "secret"
    answers = list(api.get_many([container_path(n) for n in names], window=8))
    api.close()
    assert len(answers) == 40
    for name, answer in zip(names, answers, strict=True):
        if name in ("gone", "secret"):
            assert isinstance(answer, EngineError)
        else:
            assert answer["Id"] == name


def test_a_closed_connection_is_reopened_and_nothing_is_lost(
    engine: tuple[str, list[str]],
) -> None:
    api = UnixSocketAPI(engine[0])
    names = ["a", "b", "close", "c", "d", "close2", "e"]
    answers = list(api.get_many([container_path(n) for n in names], window=4))
    assert [a["Id"] for a in answers] == names
    assert api.get(container_path("z"))["Id"] == "z"
    api.close()


def test_no_engine_is_down(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as info:
        UnixSocketAPI(str(tmp_path / "none.sock")).get("/info")
    assert info.value.failure is Failure.DOWN


def test_engine_errors_exit_4_and_say_what_to_do(
    engine: tuple[str, list[str]], tmp_path: Path
) -> None:
    with pytest.raises(EngineError) as down:
        UnixSocketAPI(str(tmp_path / "none.sock")).get("/info")
    assert down.value.exit_code is ExitCode.ENVIRONMENT
    assert "hint: start dockerd (make engine) or set DOCKER_HOST" in down.value.diagnostics()
    api = UnixSocketAPI(engine[0])
    with pytest.raises(EngineError) as denied:
        api.get(container_path("secret"))
    api.close()
    assert "use --source proc" in denied.value.diagnostics()


def test_the_sdk_client_raises_the_same_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TCP, not a missing unix socket: docker-py leaks the socket of a failed unix connect
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    with pytest.raises(EngineError) as down:
        docker_client(timeout=2)
    assert down.value.failure is Failure.DOWN
    result = CliRunner().invoke(cli, ["record", "--container", "web", "-o", str(tmp_path / "s")])
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert "error: no Docker engine answers" in result.output
    assert "hint: start dockerd" in result.output
    assert "Traceback" not in result.output


def test_a_socket_nobody_listens_on_is_down(tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    answers = list(UnixSocketAPI(str(path)).get_many(["/a", "/b"]))
    assert all(isinstance(a, EngineError) and a.failure is Failure.DOWN for a in answers)


def test_transport_follows_docker_host_and_contexts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text("{}")  # docker-py puts contexts next to it
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    unix = connect({"DOCKER_HOST": "unix:///run/other.sock"})
    assert isinstance(unix, UnixSocketAPI)
    assert unix.endpoint == "unix:///run/other.sock"
    assert isinstance(connect({}), UnixSocketAPI)
    tcp = connect({"DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert isinstance(tcp, SdkAPI)
    tcp.close()

    from docker.context import ContextAPI

    ContextAPI.create_context("remote", host="tcp://127.0.0.1:2376")
    ContextAPI.create_context("local", host="unix:///run/podman/podman.sock")
    (tmp_path / "config.json").write_text('{"currentContext": "remote"}')
    chosen = connect({"DOCKER_CONFIG": str(tmp_path)})
    assert isinstance(chosen, SdkAPI)
    assert "127.0.0.1:2376" in chosen.endpoint
    chosen.close()
    podman = connect({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "local"})
    assert isinstance(podman, UnixSocketAPI)
    assert podman.endpoint == "unix:///run/podman/podman.sock"
    with pytest.raises(EngineError):
        connect({"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTEXT": "nope"})


@pytest.mark.parametrize(
    ("names", "status"), [((), "error"), (("harden-test-explore1",), "skipped")]
)
def test_a_container_that_stops_before_its_inspect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...], status: str
) -> None:
    from harden.audit.rules.model import Status
    from harden.audit.run import AuditRequest, audit
    from harden.audit.state.model import SourceKind, TargetKind

    path = str(tmp_path / "engine.sock")
    stopped = inspect_object()  # listed, then stopped before its inspect
    answers = answers_for(info(), [stopped])
    answers[f"/containers/{names[0]}/json" if names else "/none"] = stopped
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    with unix_engine(path, answers):
        report = audit(AuditRequest("2026-01-01T00:00:00Z", SourceKind.ENGINE, names=names))
    target = next(t for t in report.targets if t.kind is TargetKind.CONTAINER)
    krn = next(f for f in target.findings if f.rule.id == "KRN-001")
    assert krn.status is Status(status)
    reason = "stopped during the scan" if status == "error" else "is not running"
    assert reason in krn.message
    assert next(f for f in target.findings if f.rule.id == "NS-001").status is Status.PASS
