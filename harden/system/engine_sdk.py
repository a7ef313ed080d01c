"""A Docker SDK client with clear errors when the engine is missing or denies access."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harden.errors import PermissionProblem, ToolMissing

if TYPE_CHECKING:
    import docker


def docker_client(timeout: int = 60) -> docker.DockerClient:
    """A client for DOCKER_HOST (or the default socket), checked with a ping."""
    try:
        import docker  # noqa: PLC0415 - ~170 ms import, only for commands that need it
        import docker.errors  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - a dependency of harden
        raise ToolMissing(f"the docker Python package is missing: {exc}") from None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        text = str(exc)
        if "Permission denied" in text:
            raise PermissionProblem(
                "the Docker engine socket denies access",
                hint="run as root or as a member of the docker group",
            ) from None
        raise ToolMissing(
            f"no Docker engine answers: {text}",
            hint="start dockerd (see README: make engine) or set DOCKER_HOST",
        ) from None
    return client
