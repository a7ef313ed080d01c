"""The committed CRI stubs are exactly what the vendored proto regenerates to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

API = ROOT / "harden" / "system" / "cri" / "api"
GENERATED = ("api_pb2.py", "api_pb2.pyi", "api_pb2_grpc.py", "api_pb2_grpc.pyi")


def test_stubs_regenerate_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run(
        ["sh", str(API / "regenerate.sh"), sys.executable, str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (API / name).read_bytes(), (
            f"{name} differs from a fresh generation: run `make cri-stubs` and commit"
        )


def test_the_service_is_the_upstream_runtime_v1() -> None:
    from harden.system.cri.api import api_pb2

    service = api_pb2.DESCRIPTOR.services_by_name["RuntimeService"]
    assert service.full_name == "runtime.v1.RuntimeService"
    assert {"ListContainers", "ContainerStatus", "PodSandboxStatus"} <= set(service.methods_by_name)
