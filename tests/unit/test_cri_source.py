"""The CRI source's mapping, detection and errors, without a running node.

``tests/data/cri/status-*.json`` are verbose statuses recorded from containerd 1.6.20
(the test node of tests/cri_node.py) for the pods ``sys-admin`` (hardened, plus
SYS_ADMIN) and ``defaults`` (no securityContext) of tests/data/cri/pods.yaml.
"""

from __future__ import annotations

import json
import socket
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from harden.audit.sources import detect
from harden.audit.sources.cri import volumes
from harden.audit.sources.cri.declared import CRIContainer, collect
from harden.audit.sources.cri.scan import default_socket
from harden.audit.sources.interface import Scan
from harden.audit.state.model import GapKind, SourceKind, TargetKind, TargetState
from harden.system.cri import CRIClient, NotCRI
from harden.system.engine import EngineError, Failure
from tests.conftest import DATA, run_harden

UID = "3f1c2a9e-0000-4000-8000-000000000001"


def _recorded(name: str, *, config: bool = True, runtime: str = "containerd") -> CRIContainer:
    data = json.loads((DATA / "cri" / f"status-{name}.json").read_text())
    info = dict(data["container"]["info"])
    if not config:  # the shape CRI-O gives: the spec and the pid, no kubelet request
        info.pop("config")
    return CRIContainer(
        id=data["container"]["id"],
        name="app",
        pod=name,
        namespace="risky",
        pod_uid=data["sandbox"]["uid"],
        runtime=runtime,
        image=data["container"]["image"],
        labels=data["container"]["labels"],
        annotations=data["container"]["annotations"],
        pod_annotations={},
        info=info,
        sandbox=data["sandbox"]["info"],
    )


def _facts(container: CRIContainer) -> dict[str, Any]:
    return {path: fact.value for path, fact in collect(container).facts.items()}


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (f"/var/lib/kubelet/pods/{UID}/volumes/kubernetes.io~empty-dir/scratch", "emptyDir"),
        (f"/var/lib/kubelet/pods/{UID}/volumes/kubernetes.io~configmap/settings", "configMap"),
        (f"/srv/kubelet/pods/{UID}/volumes/kubernetes.io~secret/token", "secret"),
        (f"/var/lib/kubelet/pods/{UID}/volumes/kubernetes.io~nfs/data", "nfs"),
        (f"/var/lib/kubelet/pods/{UID}/volume-subpaths/data/app/0", "subPath"),
        (f"/var/lib/kubelet/pods/{UID}/etc-hosts", None),
        (f"/var/lib/kubelet/pods/{UID}/containers/app/1a2b3c", None),
        ("/etc", "hostPath"),
        # another pod's directory, or one that climbs out, is the node's path
        ("/var/lib/kubelet/pods/other/volumes/kubernetes.io~empty-dir/x", "hostPath"),
        (
            f"/var/lib/kubelet/pods/{UID}/volumes/kubernetes.io~empty-dir/../../../../etc",
            "hostPath",
        ),
    ],
)
def test_volume_kind_from_the_kubelets_directories(path: str, kind: str | None) -> None:
    assert volumes.kind(path, UID) == kind


def test_containerd_status_maps_to_the_docker_fact_names() -> None:
    facts = _facts(_recorded("sys-admin"))
    assert facts["name"] == "risky/sys-admin/app"
    assert facts["runtime"] == "containerd"
    assert facts["caps.added"] == ["SYS_ADMIN"]
    assert facts["caps.dropped"] == ["ALL"]
    assert facts["caps.bounding"] == ["SYS_ADMIN"]
    assert facts["privileged"] is False
    assert (facts["seccomp.profile"], facts["seccomp.mode"]) == ("default", "filter")
    assert facts["seccomp.allows_all"] is False
    assert facts["no_new_privs"] is True
    assert facts["rootfs.read_only"] is True
    assert facts["user.uid"] == 1000
    assert facts["user.name"] == "1000:1000"
    assert facts["namespaces.pid"] == facts["namespaces.net"] == "private"
    assert facts["resources.memory"] == 64 * 1024 * 1024
    assert facts["resources.cpu_millis"] == 250
    assert "/proc/kcore" in facts["masked_paths"]
    assert facts["windows.host_process"] is False


def test_a_pod_without_security_context_runs_unconfined_as_root() -> None:
    container = _recorded("defaults")
    layer = collect(container)
    facts = {path: fact.value for path, fact in layer.facts.items()}
    assert facts["seccomp.profile"] == "unconfined"
    assert "without seccompProfile" in layer.facts["seccomp.profile"].origin
    assert facts["user.name"] == "0"  # the kubelet passes the image's uid
    assert facts["user.run_as_non_root"] is False
    assert facts["no_new_privs"] is False
    assert facts["caps.dropped"] == []


def test_non_root_cannot_say_run_as_non_root() -> None:
    layer = collect(_recorded("sys-admin"))
    gap = layer.gaps["declared.user.run_as_non_root"]
    assert gap.kind is GapKind.UNAVAILABLE
    assert "runAsNonRoot" in gap.reason


def test_spec_only_status_derives_the_requests() -> None:
    """CRI-O's verbose status has the spec but not the kubelet's request."""
    container = _recorded("sys-admin", config=False)
    layer = collect(container)
    facts = {path: fact.value for path, fact in layer.facts.items()}
    assert facts["caps.added"] == ["SYS_ADMIN"]
    assert facts["caps.dropped"] == ["ALL"]
    assert "OCI spec" in layer.facts["caps.added"].origin
    assert layer.gaps["declared.seccomp.profile"].kind is GapKind.UNAVAILABLE
    assert layer.gaps["declared.privileged"].kind is GapKind.UNAVAILABLE
    assert facts["seccomp.mode"] == "filter"


def test_an_odd_field_fails_only_its_facts() -> None:
    container = _recorded("sys-admin")
    container.info["runtimeSpec"]["process"]["capabilities"]["bounding"] = "ALL"
    layer = collect(container)
    assert layer.gaps["declared.caps.bounding"].kind is GapKind.FAILED
    assert "process.capabilities.bounding" in layer.gaps["declared.caps.bounding"].reason
    assert layer.facts["seccomp.mode"].value == "filter"


def test_a_status_without_spec_fails_every_fact_but_identity() -> None:
    container = _recorded("sys-admin")
    container.info.clear()
    layer = collect(container)
    assert layer.facts["name"].value == "risky/sys-admin/app"
    assert layer.gaps["declared.seccomp.mode"].kind is GapKind.FAILED


def test_a_grpc_server_without_the_cri_is_not_a_runtime(tmp_path: Path) -> None:
    """A real gRPC server that serves nothing answers UNIMPLEMENTED, as Docker's own
    containerd (CRI plugin disabled) does."""
    path = str(tmp_path / "grpc.sock")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    server.add_insecure_port(f"unix://{path}")
    server.start()
    try:
        with CRIClient(path) as client, pytest.raises(NotCRI) as caught:
            client.version()
    finally:
        server.stop(None)
    assert "does not serve the CRI" in caught.value.reason


def test_nothing_listening_is_down(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # a socket file nobody listens on
    with pytest.raises(EngineError) as caught:
        CRIClient(str(path))
    assert caught.value.failure is Failure.DOWN


def test_cli_unreachable_cri_socket_exits_4(tmp_path: Path) -> None:
    missing = tmp_path / "none.sock"
    done = run_harden("audit", "--cri-socket", str(missing), "--format", "json")
    assert done.code == 4
    report = json.loads(done.stdout)
    assert report["scan"]["source"] == "cri"
    assert report["scan"]["engine_unavailable"] is True
    assert str(missing) in report["scan"]["problems"][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "proc", "--namespace", "x"], "--namespace selects Kubernetes pods"),
        (["--source", "engine", "--cri-socket", "/x"], "--cri-socket names a CRI runtime"),
        (["--source", "cri", "web"], "NAMES select containers through the engine"),
        (["--input", "x.json", "--namespace", "x"], "--input audits saved files"),
    ],
)
def test_cli_refuses_options_that_do_not_fit(args: list[str], message: str) -> None:
    done = run_harden("audit", *args)
    assert done.code == 2
    assert message in done.output
    assert "Traceback" not in done.output


def test_detection_finds_each_socket_once_docker_first() -> None:
    here = {
        "/var/run/docker.sock",
        "/run/containerd/containerd.sock",
        "/var/run/crio/crio.sock",
        "/tmp/k.sock",
    }
    env = {"CONTAINER_RUNTIME_ENDPOINT": "unix:///run/containerd/containerd.sock"}
    found = detect.find(env, is_socket=lambda p: p in here)
    assert [(e.name, e.socket) for e in found] == [
        ("docker", "/var/run/docker.sock"),
        ("cri", "/run/containerd/containerd.sock"),  # named, and not found a second time
        ("crio", "/var/run/crio/crio.sock"),
    ]
    remote = detect.find({"DOCKER_HOST": "tcp://10.0.0.1:2376"}, is_socket=lambda _p: False)
    assert [(e.name, e.socket) for e in remote] == [("docker", "")]


def test_detection_looks_under_the_hosts_run_mount(monkeypatch: pytest.MonkeyPatch) -> None:
    # the fleet DaemonSet mounts the node's /run at /host/run: no volume per socket path
    here = {"/host/run/docker.sock", "/host/run/crio/crio.sock", "/run/containerd/containerd.sock"}
    found = detect.find({"HARDEN_RUN": "/host/run/"}, is_socket=lambda p: p in here)
    assert [(e.name, e.socket) for e in found] == [
        ("docker", "/host/run/docker.sock"),
        ("crio", "/host/run/crio/crio.sock"),  # the container's own /run is not the node's
    ]
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert detect._own_socket(found[0]) == "/host/run/docker.sock"  # asked there, not at /var/run
    assert (
        detect._own_socket(detect.Engine(SourceKind.ENGINE, "docker", "/var/run/docker.sock")) == ""
    )


def _target(id_: str, source: SourceKind) -> TargetState:
    return TargetState(TargetKind.CONTAINER, id_, id_, source)


def test_join_reports_a_container_seen_twice_once_from_the_cri() -> None:
    docker = detect.Engine(SourceKind.ENGINE, "docker", "/var/run/docker.sock")
    cri = detect.Engine(SourceKind.CRI, "cri", "/run/cri-dockerd.sock")
    both = detect.join(
        [
            (
                docker,
                Scan(
                    SourceKind.ENGINE,
                    (_target("a", SourceKind.ENGINE), _target("b", SourceKind.ENGINE)),
                ),
            ),
            (cri, Scan(SourceKind.CRI, (_target("b", SourceKind.CRI),))),
        ]
    )
    assert both.source is SourceKind.AUTO
    assert [(t.id, t.source) for t in both.targets] == [
        ("b", SourceKind.CRI),
        ("a", SourceKind.ENGINE),
    ]
    assert not both.engine_unavailable


def test_the_requests_pod_security_judges_are_the_kubelets() -> None:
    """The PSS rules read what was asked (the gate reads it from the manifest): names as
    the kubelet passed them, the seccomp profile it asked for whatever privileged implies,
    no /proc unmasking, no user namespace of its own."""
    facts = _facts(_recorded("sys-admin"))
    assert facts["caps.added_as_written"] == ["SYS_ADMIN"]
    assert facts["caps.dropped_as_written"] == ["ALL"]
    assert facts["seccomp.requested"] == ["default"]
    assert facts["apparmor.requested"] == facts["selinux.requested"] == []
    assert facts["proc_mount"] == ""
    assert facts["userns.requested"] is False
    assert facts["user.requested_uids"] == [1000]
    assert facts["os"] == "linux"
    defaults = _facts(_recorded("defaults"))
    assert defaults["seccomp.requested"] == ["unconfined"]  # also sent for an unset profile
    assert defaults["user.requested_uids"] == [0]  # the image's uid, passed on by the kubelet


def test_what_the_cri_cannot_carry_is_unavailable_for_pod_security() -> None:
    layer = collect(_recorded("sys-admin"))
    for fact in ("probe_hosts", "seccomp.annotated"):
        assert layer.gaps[f"declared.{fact}"].kind is GapKind.UNAVAILABLE, fact
    crio = collect(_recorded("sys-admin", config=False))  # the spec, no kubelet request
    assert crio.facts["caps.added_as_written"].value == ["SYS_ADMIN"]
    for fact in ("seccomp.requested", "user.requested_uids"):
        assert crio.gaps[f"declared.{fact}"].kind is GapKind.UNAVAILABLE, fact


def test_the_cri_source_finds_its_socket_as_detection_does(tmp_path: Path) -> None:
    # --source cri without --cri-socket looks where --source auto looks, HARDEN_RUN too
    import socket

    (tmp_path / "crio").mkdir()
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "crio" / "crio.sock"))
        assert default_socket({"HARDEN_RUN": str(tmp_path)}) == f"{tmp_path}/crio/crio.sock"
        named = {"HARDEN_RUN": str(tmp_path), "CONTAINER_RUNTIME_ENDPOINT": "unix:///x.sock"}
        assert default_socket(named) == "/x.sock"  # the kubelet's setting wins
    finally:
        server.close()
