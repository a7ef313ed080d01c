"""``harden record`` as a user runs it: local commands, running containers, bad input.

Every bad input gets a clear message and its documented exit code; a recording that
ends badly (the workload failed or died) is still written, marked incomplete (exit 3).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from harden.cli import cli
from harden.errors import ExitCode
from harden.profile.loader import load_spec
from tests.conftest import PREFIX


def harden(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_nothing_to_record_is_bad_usage(tmp_path: Path) -> None:
    result = harden("record", "-o", tmp_path / "x.yaml")
    assert result.exit_code == ExitCode.INPUT
    assert "nothing to record" in result.output


def test_a_missing_command_is_named(tmp_path: Path) -> None:
    result = harden("record", "-o", tmp_path / "x.yaml", "--", "/nonexistent/server", "-v")
    assert result.exit_code == ExitCode.INPUT
    assert "command not found or not executable: '/nonexistent/server'" in result.output
    assert not (tmp_path / "x.yaml").exists()


def test_an_unwritable_output_is_refused_before_recording(tmp_path: Path) -> None:
    result = harden("record", "-o", tmp_path / "no" / "x.yaml", "--", "true")
    assert result.exit_code == ExitCode.INPUT
    assert "cannot write into" in result.output


def test_strace_missing_is_an_environment_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = harden("record", "-o", tmp_path / "x.yaml", "--", "/bin/true")
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert "strace is not installed" in result.output
    assert "apt-get install strace" in result.output


@pytest.mark.root
def test_no_permission_to_ptrace_is_an_environment_problem() -> None:
    setpriv = shutil.which("setpriv")
    assert setpriv is not None
    folder = Path(tempfile.mkdtemp(prefix="harden-test-"))
    try:
        folder.chmod(0o777)
        harden_bin = Path(sys.executable).parent / "harden"
        done = subprocess.run(
            [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
             str(harden_bin), "record", "-o", str(folder / "x.yaml"), "--pid", "1",
             "--duration", "2s"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder)
    assert done.returncode == ExitCode.ENVIRONMENT, done.stderr
    assert "strace may not trace the process" in done.stderr
    assert "Operation not permitted" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.root
def test_a_local_server_is_recorded_while_a_client_exercises_it(tmp_path: Path) -> None:
    busybox = shutil.which("busybox")
    assert busybox is not None
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello\n")
    port = free_port()
    out = tmp_path / "web.yaml"
    client = f"{busybox} wget -qO- http://127.0.0.1:{port}/ | grep -q hello"
    result = harden("record", "-o", out, "--exercise", client, "--",
                    busybox, "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(www))  # fmt: skip
    assert result.exit_code == 0, result.output
    spec = load_spec(out).spec
    assert [(p.port, p.protocol) for p in spec.network.listen] == [(port, "tcp")]
    text = out.read_text()
    assert f"{www}/index.html  # recorded: busybox" in text
    assert "passed." in text  # the exercise
    assert "bind() by busybox" in text


@pytest.mark.root
def test_a_relative_command_path_is_recorded_as_an_absolute_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy("/bin/true", tmp_path / "server")
    monkeypatch.chdir(tmp_path)
    result = harden("record", "-o", "x.yaml", "--", "./server")
    assert result.exit_code == 0, result.output
    spec = load_spec(tmp_path / "x.yaml").spec
    assert str(tmp_path / "server") in spec.files.exec
    # it ran as root with no limits: the spec and the command say what to decide
    assert "to decide: the workload ran as root" in result.output
    assert "set resources:" in result.output
    assert "# TO DECIDE: the workload ran as root" in (tmp_path / "x.yaml").read_text()


@pytest.mark.root
def test_a_failing_command_keeps_its_partial_recording(tmp_path: Path) -> None:
    out = tmp_path / "x.yaml"
    result = harden("record", "-o", out, "--", "sh", "-c", "cat /etc/hostname; exit 3")
    assert result.exit_code == ExitCode.INCOMPLETE
    assert "recording incomplete: the command exited with status 3" in result.output
    text = out.read_text()
    assert "# INCOMPLETE: the command exited with status 3" in text
    assert "/etc/hostname  # recorded: cat" in text


@pytest.mark.root
def test_a_duration_ends_a_long_command(tmp_path: Path) -> None:
    out = tmp_path / "x.yaml"
    start = time.monotonic()
    result = harden("record", "-o", out, "--duration", "1s", "--", "sleep", "60")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 15
    assert "nanosleep" in out.read_text() or "clock_nanosleep" in out.read_text()


@pytest.fixture
def running(
    docker: Any, test_image: str, container_name: Callable[[], str]
) -> Callable[[str], Any]:
    def start(script: str) -> Any:
        return docker.containers.run(test_image, ["sh", "-c", script], name=container_name(),
                                     network_mode="none", detach=True)  # fmt: skip

    return start


@pytest.mark.docker
@pytest.mark.root
def test_attaching_to_a_container_follows_new_processes(
    running: Callable[[str], Any], tmp_path: Path
) -> None:
    box = running("while true; do sleep 0.2; done")
    out = tmp_path / "box.yaml"

    def later() -> None:
        time.sleep(10)  # attached by then (bpftrace compiles for 3-5 s); not a traced child
        box.exec_run(["sh", "-c", "sleep 1; cat /etc/passwd >/dev/null"])

    threading.Thread(target=later, daemon=True).start()
    result = harden("record", "-o", out, "--container", box.name, "--duration", "15s")
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "/etc/passwd  # recorded: busybox" in text or "/etc/passwd  # recorded: cat" in text
    assert f"from container {box.name}" in text


@pytest.mark.docker
@pytest.mark.root
def test_a_container_dying_mid_recording_keeps_the_recording(
    running: Callable[[str], Any], tmp_path: Path
) -> None:
    box = running("sleep 10; cat /etc/group >/dev/null; exit 3")
    out = tmp_path / "dying.yaml"
    result = harden("record", "-o", out, "--container", box.name, "--duration", "30s")
    assert result.exit_code == ExitCode.INCOMPLETE, result.output
    assert "the container stopped during the recording (exit status 3)" in result.output
    text = out.read_text()
    assert "INCOMPLETE: the container stopped" in text
    assert "/etc/group  # recorded:" in text


@pytest.mark.docker
def test_an_unknown_container_is_bad_input(tmp_path: Path) -> None:
    result = harden("record", "-o", tmp_path / "x.yaml", "--container", f"{PREFIX}nosuch")
    assert result.exit_code == ExitCode.INPUT
    assert "no container named" in result.output


@pytest.mark.docker
@pytest.mark.root
def test_an_image_command_that_does_not_exist_is_an_incomplete_recording(
    test_image: str, tmp_path: Path
) -> None:
    out = tmp_path / "x.yaml"
    result = harden("record", "-o", out, "--image", test_image, "--duration", "5s",
                    "--container-prefix", PREFIX, "--", "no-such-server")  # fmt: skip
    assert result.exit_code == ExitCode.INCOMPLETE, result.output
    assert "the workload exited with status 127" in result.output
    assert out.exists()
    assert out.stat().st_size > 0
