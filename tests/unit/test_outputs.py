"""Outputs never harm the host (issue 12, section 1), through the CLI: a device or FIFO
named by -o is written into, not replaced; generate replaces only a directory that is
wholly a harden bundle; a baseline is written only with the report; a full file system
is exit 2."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harden.errors import ExitCode
from tests.conftest import DATA, EXAMPLES, run_harden

CORPUS = DATA / "gate" / "corpus"
INSPECT = DATA / "audit" / "inspect" / "docker-20.10.json"
WEB = next(p for p in EXAMPLES if p.stem == "web")


def _host_report(tmp_path: Path) -> Path:
    out = tmp_path / "host.json"
    run_harden("audit", "--input", str(INSPECT), "--format", "json", "-o", str(out))
    return out


def _writers(tmp_path: Path) -> dict[str, Callable[[Path], list[str]]]:
    """Every command with an output file, given where to write it."""
    host = _host_report(tmp_path)
    spec = tmp_path / "recorded.yaml"
    spec.write_text(WEB.read_text())
    return {
        "gate -o": lambda o: ["gate", str(CORPUS), "-o", str(o)],
        "audit -o": lambda o: ["audit", "--input", str(INSPECT), "-o", str(o)],
        "report merge -o": lambda o: ["report", "merge", str(host), "-o", str(o)],
        "--write-baseline": lambda o: ["gate", str(CORPUS), "--write-baseline", str(o)],
        "spec merge -o": lambda o: ["spec", "merge", str(spec), str(spec), "-o", str(o)],
    }


@contextlib.contextmanager
def _reading(fifo: Path) -> Iterator[list[bytes]]:
    """A reader on the FIFO while the block runs; what it read, once the block ends."""
    got: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as pipe:
            got.append(pipe.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    yield got
    reader.join(10)


def test_a_fifo_named_by_o_is_written_into_not_replaced(tmp_path: Path) -> None:
    for what, args in _writers(tmp_path).items():
        fifo = tmp_path / f"pipe-{len(what)}"
        os.mkfifo(fifo)
        with _reading(fifo) as got:
            result = run_harden(*args(fifo))
        assert result.code in (ExitCode.OK, ExitCode.FAILED), (what, result.output)
        assert stat.S_ISFIFO(fifo.lstat().st_mode), what
        assert got, what
        assert got[0].strip(), what
        fifo.unlink()


@pytest.mark.root
def test_a_character_device_named_by_o_stays_a_device(tmp_path: Path) -> None:
    for what, args in _writers(tmp_path).items():
        null = tmp_path / "null"  # the host's /dev/null, as a node of this test's own
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        result = run_harden(*args(null))
        assert result.code in (ExitCode.OK, ExitCode.FAILED), (what, result.output)
        info = null.lstat()
        assert stat.S_ISCHR(info.st_mode), what
        assert info.st_rdev == os.makedev(1, 3), what
        null.unlink()


def test_a_block_device_or_socket_is_refused(tmp_path: Path) -> None:
    import socket

    sock_path = tmp_path / "engine.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        result = run_harden("gate", str(CORPUS), "-o", str(sock_path))
    assert result.code == ExitCode.INPUT
    assert "is not a regular file" in result.output
    assert stat.S_ISSOCK(sock_path.lstat().st_mode)


def _generate(spec: Path, out: Path) -> tuple[int, str]:
    result = run_harden("generate", str(spec), "-o", str(out), "--quiet")
    assert "Traceback" not in result.output
    return result.code, result.output


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("what", "make"),
    [
        ("a web app", lambda d: (d / "manifest.json").write_text('{"name": "app"}')),
        ("docker save output", lambda d: (d / "manifest.json").write_text('[{"Config": "x"}]')),
        (
            "a browser extension",
            lambda d: (d / "manifest.json").write_text('{"manifest_version": 3, "files": {}}'),
        ),
        ("unreadable manifest", lambda d: (d / "manifest.json").write_text("{")),
        ("a manifest link", lambda d: (d / "manifest.json").symlink_to("/etc/hostname")),
    ],
)
def test_generate_leaves_a_directory_that_is_no_bundle(
    tmp_path: Path, what: str, make: Callable[[Path], None]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<p>keep me</p>")
    make(out)
    before = _tree(out)
    code, output = _generate(WEB, out)
    assert code == ExitCode.INPUT, (what, output)
    assert "is left as it is" in output
    assert _tree(out) == before, what


def test_generate_replaces_a_bundle_and_nothing_that_is_more(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    assert _generate(WEB, out)[0] == ExitCode.OK
    assert _generate(WEB, out)[0] == ExitCode.OK  # its own bundle: replaced
    (out / "notes.txt").write_text("mine")
    (out / "core").mkdir(exist_ok=True)
    before = _tree(out)
    code, output = _generate(WEB, out)
    assert code == ExitCode.INPUT
    assert "it holds what the bundle does not list: " in output
    assert "notes.txt" in output
    assert _tree(out) == before
    (out / "notes.txt").unlink()
    (out / "core").rmdir()
    (out / "seccomp.json").unlink()  # a listed file missing: still only bundle files
    assert _generate(WEB, out)[0] == ExitCode.OK
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(_tree(out)) == {*manifest["files"], "manifest.json"}


@pytest.mark.parametrize("version", [0, 99, "1", None])
def test_generate_refuses_a_bundle_of_an_unknown_version(tmp_path: Path, version: object) -> None:
    out = tmp_path / "bundle"
    assert _generate(WEB, out)[0] == ExitCode.OK
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["version"] = version
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = _tree(out)
    code, output = _generate(WEB, out)
    assert code == ExitCode.INPUT
    assert "is not a harden bundle's" in output
    assert _tree(out) == before


def test_a_listed_name_that_is_a_directory_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    assert _generate(WEB, out)[0] == ExitCode.OK
    (out / "docker-run.txt").unlink()
    (out / "docker-run.txt").mkdir()
    (out / "docker-run.txt" / "data").write_text("mine")
    code, output = _generate(WEB, out)
    assert code == ExitCode.INPUT
    assert "docker-run.txt/" in output
    assert (out / "docker-run.txt" / "data").read_text() == "mine"


def test_the_baseline_is_written_only_with_the_report(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    writes = ("gate", str(CORPUS), "--write-baseline", str(baseline))
    (tmp_path / "file").write_text("")
    result = run_harden(*writes, "-o", str(tmp_path / "file" / "report.sarif"))
    assert result.code == ExitCode.INPUT  # the report cannot be written there
    assert "Not a directory" in result.output
    assert not baseline.exists()
    bad_policy = tmp_path / "policy.yaml"
    bad_policy.write_text("version: 2\n")
    result = run_harden(*writes, "--policy", str(bad_policy))
    assert result.code == ExitCode.INPUT
    assert not baseline.exists()
    same = run_harden(*writes, "-o", str(baseline))
    assert same.code == ExitCode.INPUT
    assert not baseline.exists()
    done = run_harden(*writes, "-o", str(tmp_path / "report.txt"))
    assert done.code == ExitCode.OK  # judged by the baseline it wrote
    assert json.loads(baseline.read_text())["findings"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "harden-test", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def _fill_inodes(folder: Path) -> None:
    for n in range(100_000):
        try:
            (folder / f"f{n}").touch()
        except OSError:
            return


@pytest.mark.root
@pytest.mark.parametrize("full", ["inodes", "space"])
def test_a_full_file_system_is_exit_2_and_leaves_nothing(tmp_path: Path, full: str) -> None:
    options = "size=4m,nr_inodes=64" if full == "inodes" else "size=64k"
    with _tmpfs(tmp_path / "fs", options) as fs:
        if full == "inodes":
            _fill_inodes(fs)
        else:
            with contextlib.suppress(OSError):
                (fs / "filler").write_bytes(b"\0" * (1 << 20))
        before = sorted(p.name for p in fs.iterdir())
        for args in (
            ["gate", str(CORPUS), "--format", "html", "-o", str(fs / "report.html")],
            ["audit", "--input", str(INSPECT), "--format", "json", "-o", str(fs / "host.json")],
            ["gate", str(CORPUS), "--write-baseline", str(fs / "baseline.json")],
            ["generate", str(WEB), "-o", str(fs / "bundle"), "--quiet"],
        ):
            result = run_harden(*args)
            assert result.code == ExitCode.INPUT, (args, result.output)
            assert "No space left on device" in result.output, result.output
            assert "Traceback" not in result.output
            assert sorted(p.name for p in fs.iterdir()) == before, args
