"""A generated bundle in the real Docker engine: the workload starts and works, denied
syscalls and dropped capabilities fail inside the container."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harden.generate import forms
from harden.generate.bundle import build_bundle
from harden.kernel.syscalls import Arch, number, table
from harden.layers.seccomp.render import SECCOMP_FILE
from harden.profile.loader import load_spec, parse_spec
from harden.profile.spec import WorkloadSpec

pytestmark = [pytest.mark.docker, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
X86 = pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86 syscall numbers, 32-bit")


def _shell_probe(extra: str) -> WorkloadSpec:
    """A spec for probes run from a shell, plus ``extra`` (YAML lines)."""
    return parse_spec(f"name: probe\nfiles: {{exec: [/bin/sh]}}\n{extra}\n").spec


def _options(spec: WorkloadSpec) -> dict[str, Any]:
    bundle = build_bundle(spec)
    layers = forms.Layers(spec, bundle.caps)
    seccomp_json = bundle.files[SECCOMP_FILE].decode()
    return forms.docker_sdk_options(layers, seccomp_json)


def _run(docker: Any, image: str, name: str, spec: WorkloadSpec, *cmd: str) -> str:
    container = docker.containers.run(
        image, list(cmd), name=name, network_mode="none", detach=True, **_options(spec)
    )
    result = container.wait(timeout=60)
    logs: bytes = container.logs()
    assert result["StatusCode"] == 0, logs.decode(errors="replace")
    return logs.decode()


def test_web_example_serves_under_its_bundle(
    docker: Any, test_image: str, container_name: Callable[[], str]
) -> None:
    spec = load_spec(ROOT / "profiles" / "workloads" / "web.yaml").spec
    server = docker.containers.run(
        test_image,
        ["httpd", "-f", "-p", "8080", "-h", "/srv/www"],
        name=container_name(),
        network_mode="none",
        detach=True,
        **_options(spec),
    )
    deadline = time.monotonic() + 20
    body = ""
    while time.monotonic() < deadline:
        client = docker.containers.run(
            test_image,
            ["wget", "-qO-", "http://127.0.0.1:8080/index.html"],
            name=container_name(),
            network_mode=f"container:{server.id}",
            detach=True,
        )
        client.wait(timeout=30)
        body = client.logs().decode(errors="replace")
        if "hello from harden" in body:
            break
        time.sleep(0.5)
    server.reload()
    assert server.status == "running", server.logs().decode(errors="replace")
    assert "hello from harden" in body
    status = server.top()  # the engine's view; harden's audit never execs into containers
    assert status["Processes"]


@X86
def test_denied_syscalls_and_dropped_capabilities_fail_in_the_container(
    docker: Any, test_image: str, container_name: Callable[[], str]
) -> None:
    spec = parse_spec(
        "name: probe\nfiles: {exec: [/bin/sh]}\nread_only_rootfs: false\n"
        "syscalls: {allow: [fchownat], arch_specific: {x86_64: [chown]}}\n"
    ).spec
    nr = {n: number(Arch.X86_64, n) for n in ("ptrace", "clone3", "unshare", "getpid")}
    script = "; ".join(
        [
            f"sysprobe {nr['getpid']}",
            f"sysprobe {nr['ptrace']} 0",
            f"sysprobe {nr['unshare']} 0x10000000",
            f"sysprobe {nr['clone3']}",
            "sysprobe socket 2 1",
            "sysprobe chown /data/in/numbers.txt 4242 4242",
            f"sysprobe {max(table(Arch.X86_64)) + 14}",
            "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status",
        ]
    )
    out = _run(docker, test_image, container_name(), spec, "sh", "-c", script).splitlines()
    assert out[0].startswith("ok ")  # getpid is allowed
    assert out[1] == "errno 1"  # ptrace: EPERM from the profile
    assert out[2] == "errno 1"  # unshare(CLONE_NEWUSER)
    assert out[3] == "errno 38"  # clone3: ENOSYS so libc falls back
    assert out[4] == "errno 1"  # no network in the spec: socket(AF_INET) denied
    assert out[5] == "errno 1"  # chown allowed by seccomp, but CAP_CHOWN was dropped
    assert out[6] == "errno 38"  # newer than the syscall table: ENOSYS (runc's stub)
    status = dict(line.split(":\t") for line in out[7:])
    assert int(status["CapEff"], 16) == 0
    assert int(status["CapBnd"], 16) == 0
    assert status["NoNewPrivs"] == "1"
    assert status["Seccomp"] == "2"


def test_the_same_probe_succeeds_with_the_capability_granted(
    docker: Any, test_image: str, container_name: Callable[[], str]
) -> None:
    spec = parse_spec(
        "name: probe\ncapabilities: [{name: CHOWN, reason: fix ownership}]\n"
        "read_only_rootfs: false\n"
    ).spec
    out = _run(
        docker,
        test_image,
        container_name(),
        spec,
        "sysprobe",
        "chown",
        "/data/in/numbers.txt",
        "4242",
        "4242",
    )
    assert out == "ok 0\n"


@X86
def test_32_bit_programs_use_exactly_the_socket_operations_granted(
    docker: Any, test_image: str, container_name: Callable[[], str]
) -> None:
    """Debian's i386 glibc makes socket calls through socketcall: filtered on its call
    number, the granted operations pass (families cannot be checked there) and no other."""
    socketcall = number(Arch.X86, "socketcall")
    spec = _shell_probe("network: {outbound: [{port: 443}]}")
    script = "; ".join(
        [
            "sysprobe32 socket 2 1",  # glibc: socketcall(SYS_SOCKET, ...)
            f"sysprobe32 {socketcall} 3 0",  # SYS_CONNECT, arguments at NULL: EFAULT
            f"sysprobe32 {socketcall} 8 0",  # SYS_SOCKETPAIR: not granted
            f"sysprobe32 {socketcall} 4 0",  # SYS_LISTEN: a client has no listen
        ]
    )
    out = _run(docker, test_image, container_name(), spec, "sh", "-c", script).splitlines()
    assert out[0].startswith("ok "), out
    assert out[1] == "errno 14"  # passed the filter, then the kernel read NULL
    assert out[2] == "errno 1"
    assert out[3] == "errno 1"
    none = _shell_probe("")
    alone = _run(docker, test_image, container_name(), none, "sysprobe32", "socket", "2", "1")
    assert alone.strip() == "errno 38"  # no network asked: ENOSYS, as before


@X86
def test_32_bit_ipc_gives_shared_memory_and_not_semaphores(
    docker: Any, test_image: str, container_name: Callable[[], str]
) -> None:
    ipc = number(Arch.X86, "ipc")
    spec = _shell_probe("syscalls: {sets: [ipc-shm]}")
    script = f"sysprobe32 {ipc} 23 0 4096 0x380; sysprobe32 {ipc} 2 0 1 0x380"
    out = _run(docker, test_image, container_name(), spec, "sh", "-c", script).splitlines()
    assert out[0].startswith("ok "), out  # shmget(IPC_PRIVATE, 4096, 0600)
    assert out[1] == "errno 1"  # semget: not asked for


@X86
def test_in_a_container_no_program_types_into_its_terminal_and_netlink_is_route_only(
    docker: Any, test_image: str, container_name: Callable[[], str]
) -> None:
    socket_nr = number(Arch.X86_64, "socket")
    spec = _shell_probe("network: {netlink: true}")
    script = "; ".join(
        [
            "sysprobe tiocsti 0",  # its own terminal (docker run -t)
            "sysprobe tiocsti 0 0xffffffff",
            "sysprobe32 tiocsti 0",
            f"sysprobe {socket_nr} 16 3 0",  # AF_NETLINK, SOCK_RAW, NETLINK_ROUTE
            f"sysprobe {socket_nr} 16 3 9",  # NETLINK_AUDIT
        ]
    )
    container = docker.containers.run(
        test_image,
        ["sh", "-c", script],
        name=container_name(),
        network_mode="none",
        detach=True,
        tty=True,
        **_options(spec),
    )
    assert container.wait(timeout=60)["StatusCode"] == 0
    out = container.logs().decode(errors="replace").split()
    assert out[:6] == ["errno", "1", "errno", "1", "errno", "1"], out
    assert out[6] == "ok", out
    assert out[8:] == ["errno", "1"], out
