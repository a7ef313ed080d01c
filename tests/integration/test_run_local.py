"""`harden run` really confines a local process: checked from /proc/self/status and from
what the exec'd program can and cannot do."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
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
    writes = f"files: {{write: ['{tmp_path}/**']}}\n"
    without = _bundle(
        tmp_path / "a",
        "name: t\nsyscalls: {allow: [fchownat], arch_specific: {x86_64: [chown]}}\n" + writes,
    )
    with_chown = _bundle(
        tmp_path / "b", "name: t\ncapabilities: [{name: CHOWN, reason: fix ownership}]\n" + writes
    )
    assert _run(without, str(sysprobe), "chown", str(target), "4242", "4242").stdout == "errno 1\n"
    assert _run(with_chown, str(sysprobe), "chown", str(target), "4242", "4242").stdout == "ok 0\n"
    assert target.stat().st_uid == 4242


def test_exit_code_of_the_command_is_harden_runs(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "name: t\nuser: {uid: 1000, gid: 1000}\nfiles: {exec: [/bin/sh]}\n")
    assert _run(bundle, "/bin/sh", "-c", "exit 7").returncode == 7


def test_unknown_command_is_an_input_error(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "name: t\n")
    result = _run(bundle, "definitely-not-a-command-xyz")
    assert result.returncode == 2
    assert "command not found" in result.stderr


def _session_leader(tmp_path: Path, bundle: Path, *cmd: str) -> tuple[str, bytes]:
    """Run harden run as a session leader whose controlling terminal is a new pty (as
    from an interactive shell); what it printed, and what the terminal's input queue
    then holds (keystrokes a program pushed with TIOCSTI)."""
    import fcntl
    import select
    import termios

    master, slave = os.openpty()

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    out = tmp_path / "out.txt"
    with out.open("w") as handle:
        subprocess.run(
            [*HARDEN, "run", "--bundle", str(bundle), "--", *cmd],
            stdin=slave,
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=controlling_terminal,
            check=False,
            timeout=60,
        )
    termios.tcsetattr(slave, termios.TCSANOW, termios.tcgetattr(slave))
    os.set_blocking(slave, False)
    pushed = b""
    if select.select([slave], [], [], 0.2)[0]:
        with contextlib.suppress(BlockingIOError):
            pushed = os.read(slave, 100)
    os.close(master)
    os.close(slave)
    return out.read_text(), pushed


@contextlib.contextmanager
def _everyones(program: Path) -> Iterator[Path]:
    """A copy of ``program`` that any user may run (pytest's temporary tree is root's)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="harden-test-") as folder:
        Path(folder).chmod(0o755)
        copy = Path(folder) / program.name
        shutil.copy2(program, copy)
        copy.chmod(0o755)
        yield copy


def test_a_program_cannot_push_keystrokes_into_the_callers_terminal(
    tmp_path: Path, sysprobe: Path
) -> None:
    """A uid-101 program without capabilities, started from a root shell's terminal."""
    bundle = _bundle(tmp_path, "name: t\nuser: {uid: 101, gid: 101}\n")
    with _everyones(sysprobe) as probe:
        for high in ("0", "0xffffffff"):  # the request's upper bits are no way around it
            output, pushed = _session_leader(tmp_path, bundle, str(probe), "tiocsti", "0", high)
            assert output.startswith("errno "), output
            assert pushed == b""
    output, _ = _session_leader(tmp_path, bundle, "/bin/cat", "/proc/self/stat")
    pid, sid = int(output.split()[0]), int(output.split()[5])
    assert sid == pid  # it leads a session of its own: no controlling terminal


def test_capabilities_past_the_name_table_are_cleared_and_granted(tmp_path: Path) -> None:
    """CHECKPOINT_RESTORE (40) is past python-prctl's table: granted by number to a non-root
    program, and cleared from every set of a root one even when inherited."""
    if capmod.NUMBER["CHECKPOINT_RESTORE"] > int(Path("/proc/sys/kernel/cap_last_cap").read_text()):
        pytest.skip("this kernel has no CAP_CHECKPOINT_RESTORE")
    granted = _bundle(
        tmp_path / "a",
        "name: t\nuser: {uid: 1000, gid: 1000}\n"
        "capabilities: [{name: CHECKPOINT_RESTORE, reason: restore}]\n",
    )
    result = _run(granted, "/bin/cat", "/proc/self/status")
    assert result.returncode == 0, result.stderr
    status = _status(result.stdout)
    for field in ("CapEff", "CapPrm", "CapAmb", "CapInh", "CapBnd"):
        assert int(status[field], 16) == 1 << 40, field

    none = _bundle(tmp_path / "b", "name: t\n")
    inherit = "import ctypes, os, subprocess, sys\n" + _SET_INHERITABLE_40
    done = subprocess.run(
        [sys.executable, "-c", inherit, *HARDEN, "run", "--bundle", str(none), "--",
         "/bin/cat", "/proc/self/status"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = _status(done.stdout)
    for field in ("CapEff", "CapPrm", "CapAmb", "CapInh", "CapBnd"):
        assert int(status[field], 16) == 0, field


# capset(2): inheritable CAP_CHECKPOINT_RESTORE (bit 40, word 1 bit 8) on top of the
# current sets, then run argv[1:]
_SET_INHERITABLE_40 = """
class H(ctypes.Structure): _fields_ = [("v", ctypes.c_uint32), ("p", ctypes.c_int)]
U = ctypes.c_uint32
class D(ctypes.Structure): _fields_ = [("e", U), ("pm", U), ("i", U)]
libc = ctypes.CDLL(None, use_errno=True)
h, d = H(0x20080522, 0), (D * 2)()
assert libc.capget(ctypes.byref(h), d) == 0
d[1].i |= 1 << 8
assert libc.capset(ctypes.byref(h), d) == 0
sys.exit(subprocess.run(sys.argv[1:]).returncode)
"""


def test_a_root_spec_gets_a_read_only_root_with_its_writable_paths(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("root's")
    secret.chmod(0o600)
    (tmp_path / "work").mkdir()
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "host-file").write_text("hidden under the tmpfs")
    bundle = _bundle(
        tmp_path / "b",
        f"name: t\nfiles:\n  write: ['{tmp_path}/work/**']\n  tmpfs: ['{tmp_path}/scratch']\n",
    )
    script = (
        f"echo pwned > {secret}; echo $? ; echo ok > {tmp_path}/work/out; "
        f"echo {tmp_path}/scratch/*; echo tmp > {tmp_path}/scratch/new && echo wrote"
    )
    result = _run(bundle, "/bin/sh", "-c", script)
    assert secret.read_text() == "root's"  # the program ran as root: only the root is ro
    assert "Read-only file system" in result.stderr
    assert (tmp_path / "work" / "out").read_text() == "ok\n"
    assert "host-file" not in result.stdout  # a fresh tmpfs
    assert "wrote" in result.stdout
    assert sorted(p.name for p in (tmp_path / "scratch").iterdir()) == ["host-file"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("name: t\nno_new_privileges: false\n", "no_new_privileges"),
        ("name: t\nfiles: {read: [/etc/**]}\n", "files.read"),
        ("name: t\nfiles: {exec: [/bin/*]}\n", "files.exec"),
        ("name: t\nfiles: {tmpfs: [/nonexistent-harden-test]}\n", "files.tmpfs"),
    ],
)
def test_what_harden_run_cannot_apply_is_refused_before_it_starts(
    tmp_path: Path, spec: str, field: str
) -> None:
    bundle = _bundle(tmp_path, spec)
    marker = tmp_path / "ran"
    result = _run(bundle, "/bin/touch", str(marker))
    assert result.returncode == 2, result.stderr
    assert f"spec.yaml: {field}:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_a_non_root_spec_reads_with_its_file_permissions_and_is_told_so(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "name: t\nuser: {uid: 1000, gid: 1000}\nfiles: {read: [/etc/**]}\n")
    result = _run(bundle, "/bin/true")
    assert result.returncode == 0, result.stderr
    assert "files.read is not applied by harden run" in result.stderr
