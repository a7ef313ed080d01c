"""Fixtures of the integration tests: a Kubernetes node (containerd + CRI) of our own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DATA
from tests.cri_node import Containerd, Kubelet, Pod, node

PODS = DATA / "cri" / "pods.yaml"


@pytest.fixture(scope="session")
def cri_node(
    docker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Containerd, Kubelet]]:
    """A containerd with its CRI on a socket of its own, started for the session and
    removed with everything it ran (pods, mounts, cgroups) afterwards."""
    with node(tmp_path_factory.mktemp("containerd"), docker) as started:
        yield started


def pod_manifests(socket: str) -> list[dict[str, Any]]:
    """The test pods (tests/data/cri/pods.yaml) with CRI_SOCKET replaced by ``socket``."""
    text = PODS.read_text().replace("CRI_SOCKET", socket)
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.fixture(scope="session")
def risky_node(
    cri_node: tuple[Containerd, Kubelet], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Containerd, dict[str, Pod], Path]:
    """Every test pod running on the node; (node, pods by name, the manifests as gated)."""
    runtime, kubelet = cri_node
    manifests = pod_manifests(runtime.socket)
    pods = {m["metadata"]["name"]: kubelet.run(m) for m in manifests}
    gated = tmp_path_factory.mktemp("manifests") / "pods.yaml"
    gated.write_text(PODS.read_text().replace("CRI_SOCKET", runtime.socket))
    return runtime, pods, gated
