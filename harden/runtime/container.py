"""Running a workload container and a client beside it, for recording and proving.

The workload gets no network (``network_mode=none``, loopback only); a client
(an exercise or a check) runs either in a second container that joins the workload's
network namespace (``network_mode=container:<id>``) or on the host inside that
namespace (``nsenter -n``). Every container started here is removed by its owner.
"""

from __future__ import annotations

import contextlib
import enum
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harden.errors import InputError
from harden.system import proc, tools

DEFAULT_PREFIX = "harden-"
_OUTPUT_LIMIT = 4000
_NOT_STARTED = 125  # what `docker run` exits with when the container cannot start


class Where(enum.StrEnum):
    """Where a client command runs."""

    CONTAINER = "container"  # a second container sharing the workload's network namespace
    HOST = "host"  # on the host, inside the workload's network namespace (nsenter)


@dataclass(frozen=True)
class ClientResult:
    command: str
    exit_code: int | None  # None: timed out
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @classmethod
    def of(cls, command: str, done: tools.Completed) -> ClientResult:
        """The result of a client run on the host."""
        return cls(command, done.returncode, done.output()[-_OUTPUT_LIMIT:], done.seconds)


def unique_name(prefix: str, role: str) -> str:
    return f"{prefix}{role}-{uuid.uuid4().hex[:10]}"


def image_config(client: Any, image: str) -> dict[str, Any]:
    """The image's config (Entrypoint, Cmd, User, Env), or a clear error if it is missing."""
    import docker.errors  # noqa: PLC0415

    try:
        attrs = client.images.get(image).attrs
    except docker.errors.ImageNotFound:
        raise InputError(
            f"image {image!r} is not in the engine",
            hint="build or load it first (docker images lists what is there)",
        ) from None
    config: dict[str, Any] = attrs.get("Config") or {}
    return config


def command_of(config: dict[str, Any], command: Sequence[str]) -> list[str]:
    """What the engine runs: the image's entrypoint plus the given command or its Cmd."""
    entrypoint = list(config.get("Entrypoint") or [])
    rest = list(command) if command else list(config.get("Cmd") or [])
    full = entrypoint + rest
    if not full:
        raise InputError(
            "the image has no entrypoint or command and none was given",
            hint="give the workload's command after --",
        )
    return full


def container_pid(container: Any) -> int:
    container.reload()
    return int(container.attrs.get("State", {}).get("Pid") or 0)


def exit_status(container: Any) -> tuple[bool, int | None]:
    """Whether the container still runs, and its exit code if it stopped."""
    container.reload()
    state = container.attrs.get("State", {})
    if state.get("Running"):
        return True, None
    return False, int(state.get("ExitCode", -1))


def logs_tail(container: Any, lines: int = 20) -> str:
    try:
        raw: bytes = container.logs(tail=lines)
    except Exception:
        return ""
    return raw.decode(errors="replace").strip()[-_OUTPUT_LIMIT:]


def remove(container: Any) -> None:
    with contextlib.suppress(Exception):  # already gone
        container.remove(force=True)


def remove_named(client: Any, name: str) -> None:
    """Remove a container harden created by name, if it exists (e.g. created, not started)."""
    with contextlib.suppress(Exception):
        client.containers.get(name).remove(force=True)


def wait_ready(
    container: Any, ports: set[tuple[int, str]], timeout: float, settle: float = 0.5
) -> str | None:
    """Wait until the workload listens on ``ports`` (or any port when empty and
    ``settle`` passes). Returns a problem description, or None when ready."""
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    while time.monotonic() < deadline:
        running, code = exit_status(container)
        if not running:
            return f"the workload exited with status {code} before it was ready"
        pid = container_pid(container)
        bound = proc.listening(pid)
        if ports and ports <= bound:
            return None
        if not ports and (bound or time.monotonic() - start >= settle):
            return None
        time.sleep(0.1)
    missing = ", ".join(f"{p}/{proto}" for p, proto in sorted(ports)) or "any port"
    return f"the workload did not listen on {missing} within {timeout:g} s"


def run_client(
    client: Any,
    container: Any,
    command: str,
    *,
    where: Where,
    image: str,
    prefix: str,
    timeout: float,
) -> ClientResult:
    """Run a shell command next to the workload and return its status and output."""
    if where is Where.HOST:
        return _on_host(container_pid(container), command, timeout)
    return _in_container(client, container, command, image=image, prefix=prefix, timeout=timeout)


def _on_host(pid: int, command: str, timeout: float) -> ClientResult:
    argv = ["nsenter", "-t", str(pid), "-n", "--", "sh", "-c", command]
    return ClientResult.of(command, tools.run(argv, timeout=timeout))


def _in_container(
    client: Any, container: Any, command: str, *, image: str, prefix: str, timeout: float
) -> ClientResult:
    import docker.errors  # noqa: PLC0415

    start = time.monotonic()
    name = unique_name(prefix, "client")
    try:
        helper = client.containers.run(
            image,
            ["sh", "-c", command],
            name=name,
            network_mode=f"container:{container.id}",
            detach=True,
        )
    except docker.errors.APIError as exc:  # e.g. the workload died: no namespace to join
        remove_named(client, name)  # created, never started
        return ClientResult(command, _NOT_STARTED, f"the client could not start: "
                            f"{exc.explanation or exc}", time.monotonic() - start)  # fmt: skip
    try:
        try:
            status = helper.wait(timeout=timeout)
            code: int | None = int(status.get("StatusCode", -1))
        except Exception:
            code = None
        output = helper.logs().decode(errors="replace")[-_OUTPUT_LIMIT:]
    finally:
        remove(helper)
    return ClientResult(command, code, output, time.monotonic() - start)


def wait_ready_command(
    client: Any, container: Any, command: str, *, where: Where, image: str, prefix: str,
    timeout: float,
) -> str | None:  # fmt: skip
    """Run ``command`` beside the workload until it succeeds (None) or ``timeout`` passes
    (a problem description): readiness as the workload defines it, not a fixed delay."""
    deadline = time.monotonic() + timeout
    last: ClientResult | None = None
    while time.monotonic() < deadline:
        running, code = exit_status(container)
        if not running:
            return f"the workload exited with status {code} before it was ready"
        left = max(1.0, deadline - time.monotonic())
        last = run_client(client, container, command, where=where, image=image, prefix=prefix,
                          timeout=left)  # fmt: skip
        if last.ok:
            return None
        time.sleep(0.2)
    said = last.output.strip().splitlines()[-1:] if last else []
    return f"the ready check {command!r} did not succeed within {timeout:g} s" + (
        f": {said[0][:200]}" if said else ""
    )
