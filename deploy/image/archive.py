"""Turn a root file system tarball into a Docker image archive, byte for byte the same for
the same inputs (``docker load`` it). Used by deploy/image/build.sh (``make image``).

``docker import`` would stamp the build's time into the image's configuration, so that
every build had another image ID; here the time is SOURCE_DATE_EPOCH (the commit's), and
the ID is a function of the root file system and the settings below alone.

    python3 archive.py ROOTFS.tar OUT.tar NAME:TAG VERSION SOURCE_DATE_EPOCH
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    tar.addfile(info, io.BytesIO(data))


def main() -> None:
    rootfs, out, tag, version, epoch = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        sys.argv[4],
        int(sys.argv[5]),
    )
    layer = Path(rootfs).read_bytes()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    created = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "Entrypoint": ["harden"],
            "Env": [
                "PATH=/opt/harden/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            ],
            "WorkingDir": "/",
            "Labels": {
                "org.opencontainers.image.title": "harden",
                "org.opencontainers.image.version": version,
                "org.opencontainers.image.created": created,
                "org.opencontainers.image.licenses": "Apache-2.0",
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": "deploy/image/build.sh (mmdebstrap)"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": [layer_name]}]
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, config_name, config_bytes, epoch)
        _add(tar, layer_name, layer, epoch)
        _add(tar, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode(), epoch)
    print("sha256:" + config_name.removesuffix(".json"))


if __name__ == "__main__":
    main()
