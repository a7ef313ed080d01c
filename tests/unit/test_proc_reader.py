"""The recorder's /proc helpers read through the one reader: HARDEN_PROC applies to them,
a vanished process reads as empty, and each id helper says which id it returns.

A fixture tree stands in for /proc: a traced server (pid 100) with a child and a zombie
grandchild in its cgroup, a process of another cgroup, and the server's sockets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harden.system import proc

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777
   1: 00000000:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999
   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 778
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _process(root: Path, pid: int, *, state: str = "S", cgroup: str = "0::/docker/web\n") -> Path:
    folder = root / str(pid)
    _write(folder / "stat", f"{pid} (a (b) c) {state} 1 {pid} {pid} 0 -1\n")
    _write(folder / "comm", "server\n")
    _write(folder / "cgroup", cgroup)
    _write(
        folder / "status",
        "Name:\tserver\nTracerPid:\t55\nUid:\t0\t1000\t0\t1000\nGid:\t0\t2000\t0\t2000\n",
    )
    (folder / "task" / str(pid)).mkdir(parents=True)
    return folder


@pytest.fixture
def fake_proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proc"
    server = _process(root, 100)
    _write(server / "task" / "100" / "children", "101 ")
    _write(_process(root, 101) / "task" / "101" / "children", "102")
    _process(root, 102, state="Z")
    _process(root, 200, cgroup="0::/docker/other\n")
    (server / "fd").mkdir()
    (server / "fd" / "3").symlink_to("socket:[777]")
    (server / "fd" / "4").symlink_to("/dev/null")
    _write(server / "net" / "tcp", TCP)
    _write(server / "root" / "etc" / "passwd", "root:x:0:0::/:/bin/sh\nwww:x:101:101::/:/bin/sh\n")
    _write(server / "root" / "etc" / "group", "root:x:0:\nbatch:x:1000:\n")
    monkeypatch.setenv("HARDEN_PROC", str(root))
    return root


def test_helpers_read_the_tree_harden_proc_names(fake_proc: Path) -> None:
    assert proc.alive(100)
    assert not proc.alive(102)  # a zombie
    assert proc.comm(100) == "server"
    assert proc.tracer_of(100) == 55
    assert proc.members(100) == {100, 101, 102}
    assert proc.children(100) == {101}
    assert proc.descendants(100) == {101, 102}
    assert proc.socket_inodes(100) == {"777"}
    assert proc.listening(100) == {(8080, "tcp"), (9090, "tcp")}
    assert proc.listening(100, owners={100}) == {(8080, "tcp")}  # 9090 is another program's


def test_the_id_helpers_name_the_id_they_return(fake_proc: Path) -> None:
    status = proc.status_of(100)
    assert proc.real_ids(status) == (0, 0)  # who started it: the recorder's spec user
    assert proc.effective_uid(status) == 1000  # what the kernel checks: the audit's uid


@pytest.mark.parametrize(
    ("user", "ids"),
    [("www", (101, 101)), ("1234", (1234, 0)), ("www:batch", (101, 1000)), ("nobody", None)],
)
def test_a_user_resolves_in_the_process_root(
    fake_proc: Path, user: str, ids: tuple[int, int] | None
) -> None:
    assert proc.passwd_ids(100, user) == ids


def test_a_vanished_process_reads_as_empty(fake_proc: Path) -> None:
    assert not proc.alive(300)
    assert proc.comm(300) == ""
    assert proc.tracer_of(300) == 0
    assert proc.real_ids(proc.status_of(300)) is None
    assert proc.members(300) == set()
    assert proc.descendants(300) == set()
    assert proc.listening(300) == set()
    assert proc.passwd_ids(300, "www") is None
