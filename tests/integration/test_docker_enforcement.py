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


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 syscall numbers")
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
