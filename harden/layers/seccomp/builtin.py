"""Profiles referred to on the command line: a file, a bundle directory, or a name
(``docker-default``)."""

from __future__ import annotations

from pathlib import Path

from harden.errors import ToolMissing
from harden.layers.seccomp.model import Profile
from harden.layers.seccomp.parse import load_profile
from harden.layers.seccomp.render import SECCOMP_FILE

# Where container engines install their default profile as JSON. Docker compiles its
# default into dockerd; the containers-common JSON (Podman, CRI-O, Buildah) is the
# installed copy of the same lineage and is what "docker-default" resolves to here.
DEFAULT_PROFILE_PATHS: tuple[Path, ...] = (
    Path("/etc/containers/seccomp.json"),
    Path("/usr/share/containers/seccomp.json"),
    Path("/etc/docker/seccomp.json"),
)
BUILTIN_NAMES = ("docker-default", "containers-common")


def resolve(arg: str) -> tuple[str, Profile]:
    """A profile from a file path, a bundle directory or a built-in name, with a label
    for reports."""
    if (Path(arg) / SECCOMP_FILE).is_file():
        arg = str(Path(arg) / SECCOMP_FILE)
    if arg in BUILTIN_NAMES:
        for path in DEFAULT_PROFILE_PATHS:
            if path.is_file():
                return f"{arg} ({path})", load_profile(path)
        raise ToolMissing(
            "no engine default seccomp profile is installed "
            f"(looked in {', '.join(map(str, DEFAULT_PROFILE_PATHS))})",
            hint="install containers-common (Debian: golang-github-containers-common)",
        )
    return arg, load_profile(Path(arg))
