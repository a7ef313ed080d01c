"""Talking to the engine API (Docker, or Podman's Docker-compatible socket).

The audit reads through two transports behind one small interface (:func:`connect`):

* a lean HTTP/1.1 client over the unix socket (keep-alive, no third-party import), used
  when the engine is a local unix socket: ``DOCKER_HOST`` unset or ``unix://...`` and
  no non-default docker context. This keeps ``harden audit`` within reach of the raw
  API's cost (the docker SDK costs ~170 ms to import and ~1.3 ms more per inspect here);
* the docker SDK for everything else: TCP with TLS (``DOCKER_TLS_VERIFY``,
  ``DOCKER_CERT_PATH``), ssh://, and docker contexts.

Only GET requests are sent there: nothing the audit does can change a container. The
commands that start containers (record, prove, measure-runtime) use the docker SDK's
full client (:func:`docker_client`). Every failure is an :class:`EngineError`.

The engine is untrusted input: connecting and each whole answer have a deadline
(``timeout``, :data:`DEFAULT_TIMEOUT` unless ``--timeout`` says otherwise), and an answer
that breaks HTTP (a bad status line, Content-Length or chunk size, a connection closed
mid-answer) or does not arrive in time is :attr:`Failure.BROKEN`: the client then
answers every later request with that error at once, instead of waiting again.
"""

from __future__ import annotations

import enum
import json
import math
import os
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from harden.errors import ExitCode, HardenError
from harden.system.parallel import Ahead
from harden.system.reading import parse_json

if TYPE_CHECKING:
    import docker

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_TIMEOUT = 30.0  # seconds to connect, and for each whole answer
_SDK_VERSION = "1.41"
_MAX_BODY = 64 << 20
_MAX_LINE = 65536
_MAX_HEADERS = 100
_STATUS = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: |\r?\n)")


class Failure(enum.StrEnum):
    DOWN = "down"  # nothing answers
    DENIED = "denied"  # the socket or an authorization plugin refuses
    NOT_FOUND = "not-found"  # e.g. a container removed during the scan
    BROKEN = "broken"  # an answer that breaks HTTP, or none within the deadline
    OTHER = "other"


_HINTS = {
    Failure.DOWN: "start dockerd (make engine) or set DOCKER_HOST",
    Failure.DENIED: "run as root, join the docker group, or use --source proc",
    Failure.BROKEN: "check the engine (or what DOCKER_HOST names); --timeout SECONDS if it "
    "is only slow, or --source proc to audit without it",
}


class EngineError(HardenError):
    """The engine cannot be used, or refused one request; ``failure`` says how."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, failure: Failure, reason: str, *, hint: str | None = None) -> None:
        super().__init__(reason, hint=_HINTS.get(failure, "") if hint is None else hint)
        self.failure = failure
        self.reason = reason


class EngineAPI(Protocol):
    endpoint: str
    peer: int | None  # the pid serving a local unix socket (SO_PEERCRED), else None

    def get(self, path: str) -> Any:
        """The decoded JSON of ``GET path`` (e.g. ``/containers/json``)."""
        ...

    def get_many(self, paths: list[str]) -> Iterator[Any]:
        """Each path's JSON, or the EngineError it met (yielded, not raised), in order."""
        ...

    def close(self) -> None: ...


class _Broken(Exception):
    """The answer breaks HTTP, or did not come in time: the connection is unusable."""


class _Answer:
    """Reads answers from a socket, each one whole before its deadline (a socket timeout
    alone would let an engine that sends a byte a second hold the audit forever)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.deadline = math.inf

    def _fill(self) -> bool:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        data = self.sock.recv(1 << 16)
        self.buffer += data
        return bool(data)

    def line(self, *, first: bool = False) -> bytes:
        """One line with its newline; b'' when the engine closed before a ``first`` line."""
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > _MAX_LINE:
                raise _Broken(f"a line longer than {_MAX_LINE} bytes")
            if not self._fill():
                if first and not self.buffer:
                    return b""
                raise _Broken("the engine closed the connection in the middle of an answer")
        line = bytes(self.buffer[: end + 1])
        del self.buffer[: end + 1]
        return line

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise _Broken("the engine closed the connection in the middle of an answer")
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


class UnixSocketAPI:
    """HTTP/1.1 GET over a unix socket, one kept-alive connection."""

    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.endpoint = f"unix://{path}"
        self.timeout = timeout
        self.peer: int | None = None
        self._sock: socket.socket | None = None
        self._answer: _Answer | None = None
        self._broken: EngineError | None = None

    def _connect(self) -> None:
        if self._broken is not None:
            raise self._broken
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except PermissionError:
            sock.close()
            raise EngineError(Failure.DENIED, f"{self.endpoint}: permission denied") from None
        except TimeoutError:
            sock.close()
            raise self._break(f"no connection within {self.timeout:g} s") from None
        except OSError as exc:
            sock.close()
            raise EngineError(Failure.DOWN, f"{self.endpoint}: {exc.strerror or exc}") from None
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        self.peer = struct.unpack("3i", creds)[0] or None
        self._sock, self._answer = sock, _Answer(sock)

    def _break(self, reason: str) -> EngineError:
        """The engine misbehaved: close, and answer every later request with this error."""
        self.close()
        self._broken = EngineError(Failure.BROKEN, f"{self.endpoint}: {reason}")
        return self._broken

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._answer = None

    def get(self, path: str) -> Any:
        for attempt in (0, 1):  # a kept-alive connection may have been closed by the engine
            if self._sock is None:
                self._connect()
            try:
                status, body, keep = self._roundtrip(path)
                break
            except (OSError, EOFError) as exc:
                self.close()
                if attempt:
                    raise EngineError(Failure.DOWN, f"{self.endpoint}: {exc}") from None
        if not keep:
            self.close()
        return _decode(status, body, path, self.endpoint)

    def _roundtrip(self, path: str) -> tuple[int, bytes, bool]:
        self._send(path)
        return self._receive(path)

    def get_many(self, paths: list[str], window: int = 16) -> Iterator[Any]:
        """Each path's JSON (or its EngineError, yielded not raised), in order, pipelined.

        Up to ``window`` requests are sent ahead, so the engine prepares the next answers
        while the caller works on this one (HTTP/1.1 pipelining; the engine answers in
        order). After a transport problem the rest is fetched one request at a time (and
        after a broken answer, each fails at once).
        """
        done = 0
        try:
            if self._sock is None:
                self._connect()
            sent = 0
            while done < len(paths):
                while sent < len(paths) and sent < done + window:
                    self._send(paths[sent])
                    sent += 1
                status, body, keep = self._receive(paths[done])
                done += 1
                try:
                    result: Any = _decode(status, body, paths[done - 1], self.endpoint)
                except EngineError as exc:
                    result = exc
                if not keep:
                    self.close()
                    yield result
                    break
                yield result
        except (OSError, EOFError, EngineError):
            self.close()
        for path in paths[done:]:
            try:
                yield self.get(path)
            except EngineError as exc:
                yield exc

    def _send(self, path: str) -> None:
        assert self._sock is not None
        request = f"GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: harden\r\n\r\n"
        self._sock.settimeout(self.timeout)
        self._sock.sendall(request.encode())

    def _receive(self, path: str) -> tuple[int, bytes, bool]:
        """One answer: (status, body, keep-alive). A broken or late answer raises the
        EngineError every later request also gets."""
        assert self._answer is not None
        answer = self._answer
        answer.deadline = time.monotonic() + self.timeout
        try:
            return _read_answer(answer, path)
        except TimeoutError:
            raise self._break(f"{path}: no complete answer within {self.timeout:g} s") from None
        except _Broken as exc:
            raise self._break(f"{path}: the engine's answer is malformed: {exc}") from None


def _read_answer(answer: _Answer, path: str) -> tuple[int, bytes, bool]:
    status_line = answer.line(first=True)
    if not status_line:
        raise EOFError("the engine closed the connection")
    match = _STATUS.match(status_line)
    if match is None:
        raise _Broken(f"bad status line {status_line[:80]!r}")
    headers: dict[str, str] = {}
    while (line := answer.line()) not in (b"\r\n", b"\n"):
        if len(headers) >= _MAX_HEADERS:
            raise _Broken(f"more than {_MAX_HEADERS} header lines")
        key, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise _Broken(f"bad header line {line[:80]!r}")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _read_chunked(answer)
    else:
        text = headers.get("content-length", "0")
        if not (text.isascii() and text.isdigit()):
            raise _Broken(f"bad Content-Length {text[:40]!r}")
        if int(text) > _MAX_BODY:
            raise EngineError(Failure.OTHER, f"{path}: answer of {text} bytes refused")
        body = answer.read(int(text))
    keep = headers.get("connection", "").lower() != "close"
    return int(match[1]), body, keep


def _read_chunked(answer: _Answer) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        text = answer.line().split(b";")[0].strip()
        if not text or len(text) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in text):
            raise _Broken(f"bad chunk size {text[:40]!r}")
        size = int(text, 16)
        if size == 0:
            while answer.line() not in (b"\r\n", b"\n"):
                pass  # trailers
            return b"".join(parts)
        total += size
        if total > _MAX_BODY:
            raise EngineError(Failure.OTHER, "engine answer larger than 64 MiB refused")
        parts.append(answer.read(size))
        if answer.line() not in (b"\r\n", b"\n"):
            raise _Broken("a chunk longer than its size")


def _decode(status: int, body: bytes, path: str, endpoint: str) -> Any:
    if status == 200:
        try:
            return parse_json(body, f"{endpoint}{path}")
        except HardenError as exc:  # not JSON, or JSON no engine writes (1,000 deep, NaN)
            raise EngineError(Failure.BROKEN, f"the engine's answer: {exc.message}") from None
    try:
        message = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError, RecursionError):
        message = body[:200].decode("utf-8", errors="replace")
    failure = {404: Failure.NOT_FOUND, 401: Failure.DENIED, 403: Failure.DENIED}.get(
        status, Failure.OTHER
    )
    raise EngineError(failure, f"{endpoint}{path}: HTTP {status}: {message[:200]}")


class SdkAPI:
    """The same GETs through the docker SDK (TCP/TLS, ssh, contexts), with the same
    deadlines: ``timeout`` for connecting and for each whole answer."""

    def __init__(self, base_url: str | None, tls: Any, timeout: float = DEFAULT_TIMEOUT) -> None:
        import docker  # noqa: PLC0415 - ~170 ms, only for non-unix engines

        self.peer: int | None = None
        self.timeout = timeout
        self._broken: EngineError | None = None
        # harden's GETs use unversioned paths (the engine's own API version); naming a
        # version here only stops the SDK from asking the engine for one while connecting.
        # The SDK's timeout bounds each socket operation; get() bounds the whole answer.
        each = max(1, math.ceil(timeout))
        try:
            if base_url is None:
                self._client = docker.from_env(timeout=each, version=_SDK_VERSION).api
            else:
                self._client = docker.APIClient(
                    base_url=base_url, tls=tls, timeout=each, version=_SDK_VERSION
                )
        except docker.errors.DockerException as exc:
            raise EngineError(Failure.DOWN, str(exc)) from None
        self.endpoint = str(self._client.base_url)

    def get(self, path: str) -> Any:
        """The answer, fetched on a thread: the SDK bounds each socket operation, and an
        engine that sends a byte at a time would pass every one of them; the thread is
        given ``timeout`` for the whole answer, then left to the engine (daemon thread)."""
        if self._broken is not None:
            raise self._broken
        done: list[Any] = []
        worker = threading.Thread(target=self._fetch, args=(path, done), daemon=True)
        worker.start()
        worker.join(self.timeout)
        if not done:
            reason = f"{path}: no complete answer within {self.timeout:g} s"
            self._broken = EngineError(Failure.BROKEN, f"{self.endpoint}: {reason}")
            raise self._broken
        if isinstance(done[0], EngineError):
            raise done[0]
        status, body = done[0]
        return _decode(status, body, path, self.endpoint)

    def _fetch(self, path: str, done: list[Any]) -> None:
        import docker.errors  # noqa: PLC0415
        import requests  # noqa: PLC0415

        try:
            response = self._client.get(f"{self._client.base_url}{path}", stream=True)
            body = bytearray()
            for piece in response.iter_content(1 << 16):
                body += piece
                if len(body) > _MAX_BODY:
                    response.close()
                    raise EngineError(Failure.OTHER, f"{path}: answer over 64 MiB refused")
            done.append((response.status_code, bytes(body)))
        except requests.exceptions.RequestException as exc:
            done.append(EngineError(Failure.DOWN, f"{self.endpoint}: {exc}"))
        except docker.errors.DockerException as exc:
            done.append(EngineError(Failure.OTHER, str(exc)))
        except EngineError as exc:
            done.append(exc)
        except Exception as exc:  # the SDK meeting an answer it cannot parse
            done.append(
                EngineError(Failure.BROKEN, f"{self.endpoint}: {type(exc).__name__}: {exc}")
            )

    def get_many(self, paths: list[str]) -> Iterator[Any]:
        for path in paths:
            try:
                yield self.get(path)
            except EngineError as exc:
                yield exc

    def close(self) -> None:
        self._client.close()


def _current_context(env: Mapping[str, str]) -> str:
    name = env.get("DOCKER_CONTEXT", "")
    if name:
        return name
    config = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    try:
        data = parse_json(config.read_text(), str(config))
    except (OSError, ValueError, HardenError):
        return ""
    return str(data.get("currentContext", "")) if isinstance(data, dict) else ""


def connect(env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> EngineAPI:
    """The engine DOCKER_HOST / the current docker context names (default: the local
    socket); ``timeout`` bounds connecting and each whole answer."""
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return UnixSocketAPI(host.removeprefix("unix://"), timeout)
    if host:
        return SdkAPI(None, None, timeout)
    context = _current_context(env)
    if context and context != "default":
        from docker.context import ContextAPI  # noqa: PLC0415

        ctx = ContextAPI.get_context(context)
        if ctx is None:
            raise EngineError(Failure.DOWN, f"docker context {context!r} does not exist")
        host = str(ctx.Host)
        for scheme in ("unix://", "http+unix://"):
            if host.startswith(scheme):
                return UnixSocketAPI(host.removeprefix(scheme), timeout)
        return SdkAPI(host, ctx.TLSConfig, timeout)
    return UnixSocketAPI(DEFAULT_SOCKET, timeout)


def container_path(container_id: str, suffix: str = "json") -> str:
    return f"/containers/{quote(container_id, safe='')}/{suffix}"


class Early:
    """The engine's first answers, ``/info`` and (for a whole-host scan) the container
    list, fetched on a thread while harden loads its rules: both are mostly waiting for
    the engine (~25 ms here). ``wait()`` hands them over on the caller's thread; an
    unexpected error on the fetching thread is raised there, not lost.
    """

    def __init__(
        self,
        *,
        listing: bool,
        background: bool = True,
        socket: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.listing = listing
        self.socket = socket  # a unix socket to use instead of DOCKER_HOST / the context
        self.timeout = timeout
        self.api: EngineAPI | None = None
        self.info: Any = None
        self.listed: Any = None
        self.error: EngineError | None = None
        self._ahead = Ahead(self._fetch, name="harden-engine", background=background)

    def _fetch(self) -> None:
        if self.socket:
            self.api = UnixSocketAPI(self.socket, self.timeout)
        else:
            self.api = connect(timeout=self.timeout)
        self.info = self.api.get("/info")
        if self.listing:
            self.listed = self.api.get("/containers/json")

    def wait(self) -> Early:
        try:
            self._ahead.result()
        except EngineError as exc:
            self.error = exc
        return self


def docker_client(timeout: int = 60) -> docker.DockerClient:
    """The docker SDK's client for DOCKER_HOST (or the default socket), checked with a
    ping: for the commands that create containers (record, prove, measure-runtime)."""
    import docker  # noqa: PLC0415 - ~170 ms import, only for commands that need it
    import docker.errors  # noqa: PLC0415

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        text = str(exc)
        if "Permission denied" in text:
            raise EngineError(
                Failure.DENIED,
                "the Docker engine socket denies access",
                hint="run as root or join the docker group",
            ) from None
        raise EngineError(Failure.DOWN, f"no Docker engine answers: {text}") from None
    return client
