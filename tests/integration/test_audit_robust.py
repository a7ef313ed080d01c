"""The audit on a hostile, changing, partly unreadable host: never a crash, never a pass
on what could not be read, and untrusted text shown literally."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harden.audit.rules.model import Status
from harden.audit.run import AuditRequest, audit
from harden.audit.state.model import SourceKind
from harden.errors import ExitCode

pytestmark = [pytest.mark.docker, pytest.mark.root]

HARDEN = str(Path(sys.executable).with_name("harden"))
HOSTILE = "\x1b]0;pwned\x07\x1b[31m[red]evil[/red]<img src=x onerror=alert(1)>\u202e"
HOSTILE_NAME = HOSTILE.replace("/", "|")  # the same, as a file name
NOW = "2026-11-26T12:00:00Z"


def _harden(
    *args: str, env: dict[str, str] | None = None, user: bool = False
) -> subprocess.CompletedProcess[str]:
    prefix = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"] if user else []
    return subprocess.run(
        [*prefix, HARDEN, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd="/",
    )


@pytest.fixture
def hostile_dir() -> Iterator[Path]:
    """A host directory with a hostile name, under /dev/shm (a sensitive path: MNT-001)."""
    path = Path("/dev/shm") / f"harden-test-{os.getpid()}-{HOSTILE_NAME}"
    path.mkdir()
    yield path
    path.rmdir()


def test_hostile_labels_and_mount_paths_are_shown_literally(
    docker: Any, test_image: str, container_name: Callable[[], str], hostile_dir: Path
) -> None:
    name = container_name()
    docker.containers.run(
        test_image,
        ["sleep", "600"],
        name=name,
        network_mode="none",
        detach=True,
        labels={"note": HOSTILE, HOSTILE: "x"},
        volumes=[f"{hostile_dir}:/data", "/etc:/mnt/etc:ro"],
    )
    table = _harden("audit", name, "--details")
    assert table.returncode == ExitCode.FAILED, table.stderr
    for forbidden in ("\x1b", "\x07", "\u202e"):
        assert forbidden not in table.stdout
    assert "note=\\x1b]0;pwned\\x07\\x1b[31m[red]evil[/red]<img src=x onerror=alert(1)>\\u202e" in (
        table.stdout
    )
    assert "/etc -> /mnt/etc (ro)" in table.stdout
    shown_path = "\\x1b]0;pwned\\x07\\x1b[31m[red]evil[|red]<img src=x onerror=alert(1)>\\u202e"
    assert f"{shown_path} -> /data (rw)" in table.stdout

    report = json.loads(_harden("audit", name, "--format", "json").stdout)
    target = report["targets"][0]
    assert target["labels"] == {"note": HOSTILE, HOSTILE: "x"}
    mnt = next(f for f in target["findings"] if f["rule"] == "MNT-001")
    assert f"{hostile_dir} -> /data (rw)" in mnt["detail"]
    assert "DRIFT-010" in target["passed"]  # declared and mounted: no drift


def test_a_container_that_exits_mid_scan_is_unknown_not_passed(
    docker: Any, test_image: str, container_name: Callable[[], str]
) -> None:
    names = [container_name() for _ in range(3)]
    for name in names:
        docker.containers.run(
            test_image, ["sleep", "600"], name=name, network_mode="none", detach=True
        )
    victim = names[1]

    def progress(_done: int, _total: int, what: str) -> None:
        if what == victim:
            docker.containers.get(victim).remove(force=True)

    report = audit(AuditRequest(NOW, SourceKind.ENGINE, names=tuple(names)), progress)
    by_name = {t.name: t for t in report.targets}
    assert set(by_name) == set(names)
    gone = {f.rule.id: f for f in by_name[victim].findings}
    # rules that need the kernel's view cannot be decided any more: unknown, with the reason
    for rule in ("KRN-001", "DRIFT-001", "DRIFT-003", "DRIFT-007", "DRIFT-010", "RUN-003"):
        assert gone[rule].status is Status.ERROR, rule
        assert "exited" in gone[rule].message or "removed" in gone[rule].message
    if not by_name[victim].unreadable:  # inspected before it went: the declared side stands
        assert gone["DRIFT-004"].status is Status.PASS  # no NNP declared: no NNP drift
    assert not report.complete
    survivor = by_name[names[0]]
    assert not [f for f in survivor.findings if f.status is Status.ERROR]


def test_an_engine_that_is_down_gives_a_report_and_exit_4(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = _harden(
        "audit",
        "--format",
        "json",
        "-o",
        str(out),
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"},
    )
    assert done.returncode == ExitCode.ENVIRONMENT, done.stderr
    report = json.loads(out.read_text())
    assert report["scan"]["engine_unavailable"] is True
    assert "no-engine.sock" in report["scan"]["problems"][0]
    assert [t["kind"] for t in report["targets"]] == ["host"]
    table = _harden("audit", env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert table.returncode == ExitCode.ENVIRONMENT
    assert "the container engine cannot be used" in table.stdout
    assert "Traceback" not in table.stdout + table.stderr


def test_unreadable_proc_files_make_findings_unknown_not_passed(
    docker: Any, test_image: str, container_name: Callable[[], str]
) -> None:
    name = container_name()
    container = docker.containers.run(
        test_image, ["sleep", "600"], name=name, detach=True, network_mode="none", pid_mode="host"
    )
    done = _harden("audit", "--source", "proc", "--format", "json", user=True)
    assert done.returncode in (ExitCode.FAILED, ExitCode.INCOMPLETE), done.stderr
    report = json.loads(done.stdout)
    assert report["scan"]["complete"] is False
    target = next(t for t in report["targets"] if t["id"] == container.id)
    ns = {f["rule"]: f for f in target["findings"] if f["rule"].startswith("NS-")}
    assert ns["NS-002"]["status"] == "error"  # --pid host, but /proc/PID/ns is root-only
    assert "permission denied" in ns["NS-002"]["message"]
    assert "NS-002" not in target["passed"]


def test_an_engine_that_refuses_the_user_is_exit_4() -> None:
    done = _harden("audit", user=True)
    assert done.returncode == ExitCode.ENVIRONMENT, done.stdout + done.stderr
    assert "permission denied" in done.stdout


def _peer(path: str) -> int:
    import socket
    import struct

    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[0])


def _origins(report: dict[str, Any], rule: str) -> list[str]:
    host = next(t for t in report["targets"] if t["kind"] == "host")
    finding = next((f for f in host["findings"] if f["rule"] == rule), None)
    return [e.get("origin", "") for e in finding["evidence"]] if finding else []


def test_the_daemon_rules_read_the_dockerd_that_serves_the_engine_audited(
    tmp_path: Path,
) -> None:
    """The real engine: the arguments of the dockerd behind the socket are judged (here,
    --iptables=false); behind a proxy no dockerd serves, they are not, and /info still is."""
    socket_path = os.path.realpath("/var/run/docker.sock")
    pid = _peer(socket_path)
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd"
    out = tmp_path / "host.json"
    done = _harden("audit", "--format", "json", "-o", str(out), "--fail-on", "never")
    assert done.returncode in (ExitCode.OK, ExitCode.INCOMPLETE), done.stderr
    assert f"dockerd --iptables (/proc/{pid}/cmdline)" in _origins(
        json.loads(out.read_text()), "DMN-004"
    )

    import socketserver
    import threading

    class Proxy(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            import socket

            with socket.socket(socket.AF_UNIX) as engine:
                engine.connect(socket_path)
                engine.settimeout(5)
                while line := self.rfile.readline():
                    request = line
                    while (header := self.rfile.readline()) not in (b"\r\n", b""):
                        if not header.lower().startswith(b"connection"):
                            request += header
                    engine.sendall(request + b"Connection: close\r\n\r\n")
                    while data := engine.recv(1 << 16):
                        self.wfile.write(data)
                    return

    proxy_path = str(tmp_path / "proxy.sock")
    server = socketserver.ThreadingUnixStreamServer(proxy_path, Proxy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"DOCKER_HOST": f"unix://{proxy_path}"}
        done = _harden("audit", "--format", "json", "-o", str(out), "--fail-on", "never", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode in (ExitCode.OK, ExitCode.INCOMPLETE), done.stderr
    report = json.loads(out.read_text())
    host = next(t for t in report["targets"] if t["kind"] == "host")
    dmn004 = next(f for f in host["findings"] if f["rule"] == "DMN-004")
    assert dmn004["status"] == "skipped"
    assert f"no dockerd on this host serves unix://{proxy_path}" in dmn004["message"]
    assert "DMN-016" in host["passed"]  # from the engine's /info, through the proxy
