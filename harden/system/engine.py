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
"""

from __future__ import annotations

import enum
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from harden.errors import ExitCode, HardenError

if TYPE_CHECKING:
    import docker

DEFAULT_SOCKET = "/var/run/docker.sock"
_SDK_VERSION = "1.41"
_MAX_BODY = 64 << 20


class Failure(enum.StrEnum):
    DOWN = "down"  # nothing answers
    DENIED = "denied"  # the socket or an authorization plugin refuses
    NOT_FOUND = "not-found"  # e.g. a container removed during the scan
    OTHER = "other"


_HINTS = {
    Failure.DOWN: "start dockerd (make engine) or set DOCKER_HOST",
    Failure.DENIED: "run as root, join the docker group, or use --source proc",
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

    def get(self, path: str) -> Any:
        """The decoded JSON of ``GET path`` (e.g. ``/containers/json``)."""
        ...

    def get_many(self, paths: list[str]) -> Iterator[Any]:
        """Each path's JSON, or the EngineError it met (yielded, not raised), in order."""
        ...

    def close(self) -> None: ...


class UnixSocketAPI:
    """HTTP/1.1 GET over a unix socket, one kept-alive connection."""

    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.path = path
        self.endpoint = f"unix://{path}"
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._reader: Any = None

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except PermissionError:
            sock.close()
            raise EngineError(Failure.DENIED, f"{self.endpoint}: permission denied") from None
        except OSError as exc:
            sock.close()
            raise EngineError(Failure.DOWN, f"{self.endpoint}: {exc.strerror or exc}") from None
        self._sock, self._reader = sock, sock.makefile("rb")

    def close(self) -> None:
        if self._sock is not None:
            self._reader.close()
            self._sock.close()
        self._sock = self._reader = None

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

    def get_many(self, paths: list[str], window: int = 16) -> Iterator[Any]:
        """Each path's JSON (or its EngineError, yielded not raised), in order, pipelined.

        Up to ``window`` requests are sent ahead, so the engine prepares the next answers
        while the caller works on this one (HTTP/1.1 pipelining; the engine answers in
        order). After a transport problem the rest is fetched one request at a time.
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
        self._sock.sendall(request.encode())

    def _roundtrip(self, path: str) -> tuple[int, bytes, bool]:
        self._send(path)
        return self._receive(path)

    def _receive(self, path: str) -> tuple[int, bytes, bool]:
        reader = self._reader
        status_line = reader.readline(65536)
        if not status_line:
            raise EOFError("the engine closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := reader.readline(65536)) not in (b"\r\n", b"\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = _read_chunked(reader)
        else:
            length = int(headers.get("content-length", "0"))
            if length > _MAX_BODY:
                raise EngineError(Failure.OTHER, f"{path}: response of {length} bytes refused")
            body = reader.read(length)
        keep = headers.get("connection", "").lower() != "close"
        return status, body, keep


def _read_chunked(reader: Any) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size = int(reader.readline(1024).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while reader.readline(65536) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        total += size
        if total > _MAX_BODY:
            raise EngineError(Failure.OTHER, "engine response larger than 64 MiB refused")
        parts.append(reader.read(size))
        reader.readline(16)


def _decode(status: int, body: bytes, path: str, endpoint: str) -> Any:
    if status == 200:
        try:
            return json.loads(body)
        except ValueError:
            raise EngineError(Failure.OTHER, f"{path}: the engine answered non-JSON") from None
    try:
        message = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        message = body[:200].decode("utf-8", errors="replace")
    failure = {404: Failure.NOT_FOUND, 401: Failure.DENIED, 403: Failure.DENIED}.get(
        status, Failure.OTHER
    )
    raise EngineError(failure, f"{endpoint}{path}: HTTP {status}: {message}")


class SdkAPI:
    """The same GETs through the docker SDK (TCP/TLS, ssh, contexts)."""

    def __init__(self, base_url: str | None, tls: Any, timeout: int = 30) -> None:
        import docker  # noqa: PLC0415 - ~170 ms, only for non-unix engines

        # harden's GETs use unversioned paths (the engine's own API version); naming a
        # version here only stops the SDK from asking the engine for one while connecting.
        try:
            if base_url is None:
                self._client = docker.from_env(timeout=timeout, version=_SDK_VERSION).api
            else:
                self._client = docker.APIClient(
                    base_url=base_url, tls=tls, timeout=timeout, version=_SDK_VERSION
                )
        except docker.errors.DockerException as exc:
            raise EngineError(Failure.DOWN, str(exc)) from None
        self.endpoint = str(self._client.base_url)

    def get(self, path: str) -> Any:
        import docker.errors  # noqa: PLC0415
        import requests  # noqa: PLC0415

        try:
            response = self._client.get(f"{self._client.base_url}{path}")
        except requests.exceptions.RequestException as exc:
            raise EngineError(Failure.DOWN, f"{self.endpoint}: {exc}") from None
        except docker.errors.DockerException as exc:
            raise EngineError(Failure.OTHER, str(exc)) from None
        return _decode(response.status_code, response.content, path, self.endpoint)

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
        data = json.loads(config.read_text())
    except (OSError, ValueError):
        return ""
    return str(data.get("currentContext", "")) if isinstance(data, dict) else ""


def connect(env: Mapping[str, str] | None = None) -> EngineAPI:
    """The engine DOCKER_HOST / the current docker context names (default: the local socket)."""
    env = os.environ if env is None else env
    host = env.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return UnixSocketAPI(host.removeprefix("unix://"))
    if host:
        return SdkAPI(None, None)
    context = _current_context(env)
    if context and context != "default":
        from docker.context import ContextAPI  # noqa: PLC0415

        ctx = ContextAPI.get_context(context)
        if ctx is None:
            raise EngineError(Failure.DOWN, f"docker context {context!r} does not exist")
        host = str(ctx.Host)
        for scheme in ("unix://", "http+unix://"):
            if host.startswith(scheme):
                return UnixSocketAPI(host.removeprefix(scheme))
        return SdkAPI(host, ctx.TLSConfig)
    return UnixSocketAPI(DEFAULT_SOCKET)


def container_path(container_id: str, suffix: str = "json") -> str:
    return f"/containers/{quote(container_id, safe='')}/{suffix}"


class Early:
    """The engine's first answers, ``/info`` and (for a whole-host scan) the container
    list, fetched on a thread while harden loads its rules: both are mostly waiting for
    the engine (~25 ms here). ``wait()`` hands them over on the caller's thread; an
    unexpected error on the fetching thread is raised there, not lost.
    """

    def __init__(self, *, listing: bool, background: bool = True, socket: str = "") -> None:
        self.listing = listing
        self.socket = socket  # a unix socket to use instead of DOCKER_HOST / the context
        self.api: EngineAPI | None = None
        self.info: Any = None
        self.listed: Any = None
        self.error: EngineError | None = None
        self._unexpected: BaseException | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._fetch, name="harden-engine", daemon=True)
            self._thread.start()
        else:
            self._fetch()

    def _fetch(self) -> None:
        try:
            self.api = UnixSocketAPI(self.socket) if self.socket else connect()
            self.info = self.api.get("/info")
            if self.listing:
                self.listed = self.api.get("/containers/json")
        except EngineError as exc:
            self.error = exc
        except BaseException as exc:
            self._unexpected = exc

    def wait(self) -> Early:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._unexpected is not None:
            raise self._unexpected
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
