"""A fake container engine: a unix or loopback TCP socket server whose answer to each
path is raw bytes, a JSON document, or a function that writes to the connection itself.

Its answers are the engine's answers harden must survive (tests/unit/test_engine_untrusted.py
and the engine kind of the fuzzer); ``answers`` may be replaced between requests.
"""

from __future__ import annotations

import contextlib
import json
import socketserver
import threading
from collections.abc import Callable, Iterator
from typing import Any

from tests.conftest import DATA

Answer = bytes | dict[str, Any] | list[Any] | Callable[[Any], None]
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}"
ENGINE_DATA = DATA / "audit" / "engine"


def http(body: bytes, *, head: bytes = b"HTTP/1.1 200 OK\r\n") -> bytes:
    """A whole answer with a Content-Length."""
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def inspect_object(name: str = "docker-20.10.json") -> dict[str, Any]:
    """A captured inspect object, stopped (no /proc of this host is read for it)."""
    raw: dict[str, Any] = json.loads((DATA / "audit" / "inspect" / name).read_text())[0]
    raw["State"] = {"Running": False, "Pid": 0, "Status": "exited"}
    return raw


def info(name: str = "docker-info.json") -> dict[str, Any]:
    """A captured /info (docker-info.json, from Docker 20.10) or Podman's (podman-info.json)."""
    document: dict[str, Any] = json.loads((ENGINE_DATA / name).read_text())
    return document


def answers_for(info_doc: dict[str, Any], inspects: list[dict[str, Any]]) -> dict[str, Answer]:
    """The answers of an engine that runs ``inspects``."""
    out: dict[str, Answer] = {
        "/info": info_doc,
        "/containers/json": [{"Id": i["Id"], "Names": [i["Name"]]} for i in inspects],
    }
    out.update({f"/containers/{i['Id']}/json": i for i in inspects})
    return out


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        with contextlib.suppress(OSError):
            while line := self.rfile.readline():
                parts = line.split()
                path = parts[1].decode(errors="replace") if len(parts) > 1 else ""
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass
                answers: dict[str, Answer] = self.server.answers  # type: ignore[attr-defined]
                answer = answers.get(path, NOT_FOUND)
                if callable(answer):
                    answer(self.wfile)
                    return
                if not isinstance(answer, bytes):
                    answer = http(json.dumps(answer).encode())
                self.wfile.write(answer)


@contextlib.contextmanager
def serving(server: socketserver.BaseServer, answers: dict[str, Answer]) -> Iterator[Any]:
    """Serve ``answers`` on ``server`` (on a thread) until the block ends."""
    server.answers = answers  # type: ignore[attr-defined]
    server.daemon_threads = True  # type: ignore[attr-defined]
    server.block_on_close = False  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def unix_engine(path: str, answers: dict[str, Answer]) -> contextlib.AbstractContextManager[Any]:
    return serving(socketserver.ThreadingUnixStreamServer(path, _Handler), answers)


def tcp_server() -> socketserver.TCPServer:
    """A loopback TCP server for :func:`serving` (its port: ``server_address[1]``)."""
    return socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
