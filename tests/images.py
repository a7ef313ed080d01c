"""Service images built locally from Debian packages, cached between runs.

No registry is reachable, so real services (nginx, redis) come from the host's own
Debian mirror: ``mmdebstrap`` builds a minimal root file system with the packages
(using the host's apt sources and settings), the tarball is cached under a key of
everything that shapes it, and ``docker import`` turns it into an image. A cached
tarball is imported in a few seconds; a cold build takes about half a minute.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# The checkout's .cache/ (gitignored), like the suite's HARDEN_CACHE_DIR: never ~/.cache.
_CHECKOUT_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "images"
CACHE = Path(os.environ.get("HARDEN_IMAGE_CACHE") or _CHECKOUT_CACHE).expanduser()
_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")


def _host_sources() -> tuple[str, bytes]:
    """The host's Debian apt sources: (mirror argument for mmdebstrap, stdin)."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.is_file():
        return "-", deb822.read_bytes()
    one_line = Path("/etc/apt/sources.list")
    if one_line.is_file() and any(
        line.startswith("deb ") for line in one_line.read_text().splitlines()
    ):
        return "-", one_line.read_bytes()
    return "", b""


def _apt_options() -> list[Path]:
    """Host apt settings that affect downloading (proxies, validity checks)."""
    folder = Path("/etc/apt/apt.conf.d")
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and "Acquire" in p.read_text())


def _suite() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip('"') or "bookworm"
    return "bookworm"


def cache_key(packages: Sequence[str]) -> str:
    mirror, sources = _host_sources()
    digest = hashlib.sha256()
    for part in (_suite(), " ".join(sorted(packages)), mirror, *_EXCLUDES):
        digest.update(part.encode() + b"\0")
    digest.update(sources)
    return digest.hexdigest()[:16]


def rootfs_tar(packages: Sequence[str]) -> tuple[Path, float]:
    """The cached root file system tarball for ``packages`` and the seconds spent building
    it (0 when it came from the cache)."""
    target = CACHE / f"{cache_key(packages)}.tar"
    if target.is_file():
        return target, 0.0
    if shutil.which("mmdebstrap") is None:
        raise RuntimeError("mmdebstrap is needed to build service images (make test installs it)")
    CACHE.mkdir(parents=True, exist_ok=True)
    mirror, sources = _host_sources()
    partial = CACHE / f".{target.stem}.partial-{os.getpid()}.tar"
    argv = ["mmdebstrap", "--quiet", "--variant=essential", f"--include={','.join(packages)}"]
    argv += [f"--aptopt={p}" for p in _apt_options()]
    argv += [f"--dpkgopt=path-exclude={e}" for e in _EXCLUDES]
    argv += [_suite(), str(partial)] + ([mirror] if mirror else [])
    start = time.monotonic()
    done = subprocess.run(argv, input=sources, capture_output=True, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"mmdebstrap failed: {done.stderr.decode(errors='replace')[-2000:]}")
    partial.rename(target)
    return target, time.monotonic() - start


def import_image(docker: Any, tar: Path, repository: str, tag: str = "1") -> str:
    """``docker import`` a root file system tarball; returns ``repository:tag``."""
    docker.api.import_image_from_file(str(tar), repository=repository, tag=tag)
    return f"{repository}:{tag}"


def with_setup(docker: Any, image: str, setup: str, repository: str, tag: str = "1") -> str:
    """``image`` with ``setup`` run once in it as root (network none), committed."""
    container = docker.containers.run(
        image, ["sh", "-c", setup], user="0", network_mode="none", detach=True,
        name=f"{repository.rsplit('/', 1)[-1]}-{os.getpid()}",
    )  # fmt: skip
    try:
        status = container.wait(timeout=120)
        if status.get("StatusCode") != 0:
            raise RuntimeError(f"image setup failed: {container.logs().decode(errors='replace')}")
        container.commit(repository=repository, tag=tag)
    finally:
        container.remove(force=True)
    return f"{repository}:{tag}"
