"""The seccomp profile the installed Docker engine really applies by default.

dockerd compiles its default profile in; ``docker info`` names it but no API returns
it, and containers-common's JSON is another lineage (312 x86_64 names allowed against
Docker 20.10's 292, and only Docker's allows io_uring). So harden asks the engine: it
starts a probe container (a static busybox sleeping, network none) with no seccomp
option, reads the OCI ``config.json`` the engine handed to runc (``linux.seccomp``,
already resolved for the default capabilities) and removes the container and its
image. The result is cached per engine version.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Any

from harden.errors import ToolMissing
from harden.layers.seccomp.model import Profile
from harden.layers.seccomp.parse import parse_profile
from harden.resources import cache_dir
from harden.runtime.container import remove

# Where containerd keeps the OCI bundle of a running Docker container.
_BUNDLE_ROOTS = (
    Path("/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby"),
    Path("/run/containerd/io.containerd.runtime.v2.task/moby"),
)


def engine_default(client: Any) -> tuple[str, Profile]:
    """A label naming the engine, and its default profile."""
    version = str(client.version().get("Version", "unknown"))
    label = f"docker-default (the installed engine's own: Docker {version})"
    folder = cache_dir()
    cached = folder / f"engine-default-seccomp-docker-{version}.json" if folder else None
    if cached is not None and cached.is_file():
        return label, parse_profile(cached.read_text(), str(cached))
    text = json.dumps(_probe(client), indent=1, sort_keys=True)
    if cached is None:  # no usable cache directory: measured again next time
        return label, parse_profile(text, f"the engine's config.json ({version})")
    partial = cached.with_suffix(f".{uuid.uuid4().hex[:8]}.partial")
    partial.write_text(text)
    partial.replace(cached)
    return label, parse_profile(text, f"the engine's config.json ({version})")


def _probe(client: Any) -> dict[str, Any]:
    busybox = shutil.which("busybox")
    if busybox is None:
        raise ToolMissing(
            "reading the engine's default profile needs a static busybox for a probe container",
            hint="install busybox-static, or compare with containers-common",
        )
    tag = f"harden-probe-{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory(prefix="harden-probe-") as tmp:
        tar = Path(tmp) / "rootfs.tar"
        with tarfile.open(tar, "w") as handle:
            handle.add(busybox, arcname="busybox")
        client.api.import_image_from_file(str(tar), repository=tag, tag="1")
    try:
        box = client.containers.run(f"{tag}:1", ["/busybox", "sleep", "60"], name=tag,
                                    network_mode="none", detach=True)  # fmt: skip
        try:
            return _seccomp_of(box.id)
        finally:
            remove(box)
    finally:
        client.images.remove(f"{tag}:1", force=True)


def _seccomp_of(container_id: str) -> dict[str, Any]:
    for root in _BUNDLE_ROOTS:
        config = root / container_id / "config.json"
        if config.is_file():
            seccomp = json.loads(config.read_text()).get("linux", {}).get("seccomp")
            if isinstance(seccomp, dict):
                return seccomp
            raise ToolMissing("the engine applies no seccomp profile by default (seccomp off?)")
    raise ToolMissing(
        "cannot find the OCI bundle of the probe container "
        f"(looked under {', '.join(map(str, _BUNDLE_ROOTS))})",
        hint="compare with containers-common instead: harden diff PROFILE containers-common",
    )
