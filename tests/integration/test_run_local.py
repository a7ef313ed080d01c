"""`harden run` really confines a local process: checked from /proc/self/status and from
what the exec'd program can and cannot do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harden.generate.bundle import build_bundle
from harden.generate.output import write_bundle
from harden.kernel import capabilities as capmod
from harden.kernel.syscalls import Arch, number
from harden.profile.loader import parse_spec

pytestmark = [pytest.mark.root]

HARDEN = [sys.executable, "-m", "harden"]
NR = {
    name: number(Arch.X86_64, name)
    for name in ("ptrace", "unshare", "clone3", "getpid", "mount", "keyctl")
}


def _bundle(tmp_path: Path, spec_text: str) -> Path:
    out = tmp_path / "bundle"
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_bundle(out, build_bundle(parse_spec(spec_text).spec).files)
    return out


def _run(bundle: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARDEN, "run", "--bundle", str(bundle), "--", *cmd],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _status(output: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in output.splitlines() if ":\t" in line)


@pytest.fixture(scope="module")
def x86_64_only() -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("syscall numbers below are x86_64's")


def test_root_keeps_exactly_the_granted_capabilities(tmp_path: Path) -> None:
    bundle = _bundle(
        tmp_path,
        "name: t\ncapabilities:\n"
        "  - {name: CHOWN, reason: fix ownership}\n"
        "  - {name: NET_BIND_SERVICE, reason: port 80}\n",
    )
    result = _run(bundle, "/bin/cat", "/proc/self/status")
    assert result.returncode == 0, result.stderr
    status = _status(result.stdout)
    wanted = capmod.encode_mask(["CHOWN", "NET_BIND_SERVICE"])
    for field in ("CapEff", "CapPrm", "CapBnd"):
        assert int(status[field], 16) == wanted, field
    assert int(status["CapInh"], 16) == 0
    assert int(status["CapAmb"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2"


def test_non_root_user_gets_ambient_capabilities(tmp_path: Path) -> None:
    bundle = _bundle(
        tmp_path,
        "name: t\nuser: {uid: 1000, gid: 1000}\ncapabilities:\n"
        "  - {name: NET_BIND_SERVICE, reason: port 80}\n",
    )
    result = _run(bundle, "/bin/cat", "/proc/self/status")
    assert result.returncode == 0, result.stderr
    status = _status(result.stdout)
    wanted = capmod.encode_mask(["NET_BIND_SERVICE"])
    assert status["Uid"].split() == ["1000"] * 4
    assert status["Groups"].strip() == ""
    for field in ("CapEff", "CapPrm", "CapAmb", "CapBnd"):
        assert int(status[field], 16) == wanted, field


def test_denied_syscalls_fail_with_the_profile_errno(
    tmp_path: Path, sysprobe: Path, x86_64_only: None
) -> None:
    bundle = _bundle(tmp_path, "name: t\n")
    probe = str(sysprobe)
    assert _run(bundle, probe, str(NR["getpid"])).stdout.startswith("ok ")
    assert _run(bundle, probe, str(NR["ptrace"]), "0").stdout == "errno 1\n"
    assert _run(bundle, probe, str(NR["mount"])).stdout == "errno 1\n"
    assert _run(bundle, probe, str(NR["keyctl"])).stdout == "errno 1\n"
    # unshare is not allowed; clone3 answers ENOSYS so that libc falls back to clone
    assert _run(bundle, probe, str(NR["unshare"]), hex(0x10000000)).stdout == "errno 1\n"
    assert _run(bundle, probe, str(NR["clone3"])).stdout == "errno 38\n"


def test_socket_families_are_filtered_in_the_kernel(
    tmp_path: Path, sysprobe: Path, x86_64_only: None
) -> None:
    bundle = _bundle(tmp_path, "name: t\nnetwork: {outbound: [{port: 443}]}\n")
    probe = str(sysprobe)
    assert _run(bundle, probe, "socket", "2", "1").stdout.startswith("ok ")  # AF_INET stream
    assert _run(bundle, probe, "socket", "38", "5").stdout == "errno 1\n"  # AF_ALG
    assert _run(bundle, probe, "socket", "40", "1").stdout == "errno 1\n"  # AF_VSOCK
    assert _run(bundle, probe, "socket", "1", "1").stdout == "errno 1\n"  # no AF_UNIX asked


def test_a_dropped_capability_is_gone_for_the_child(tmp_path: Path, sysprobe: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    without = _bundle(
        tmp_path / "a", "name: t\nsyscalls: {allow: [fchownat], arch_specific: {x86_64: [chown]}}\n"
    )
    with_chown = _bundle(
        tmp_path / "b", "name: t\ncapabilities: [{name: CHOWN, reason: fix ownership}]\n"
    )
    assert _run(without, str(sysprobe), "chown", str(target), "4242", "4242").stdout == "errno 1\n"
    assert _run(with_chown, str(sysprobe), "chown", str(target), "4242", "4242").stdout == "ok 0\n"
    assert target.stat().st_uid == 4242


def test_exit_code_of_the_command_is_harden_runs(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "name: t\nfiles: {exec: [/bin/sh]}\n")
    assert _run(bundle, "/bin/sh", "-c", "exit 7").returncode == 7


def test_unknown_command_is_an_input_error(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "name: t\n")
    result = _run(bundle, "definitely-not-a-command-xyz")
    assert result.returncode == 2
    assert "command not found" in result.stderr
