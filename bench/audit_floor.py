"""The audit floor: one process, raw Engine API list + inspect, the same /proc files, no rules.

Run as a script by bench/audit.py; prints the number of containers read.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from typing import Any


def _get(reader: Any, sock: socket.socket, path: str) -> Any:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: docker\r\n\r\n".encode())
    reader.readline()
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        key, _, value = line.decode().partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while (size := int(reader.readline().strip(), 16)) > 0:
            body += reader.read(size)
            reader.readline()
        reader.readline()
    else:
        body = reader.read(int(headers["content-length"]))
    return json.loads(body)


def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:  # noqa: PTH123 - the plainest possible reader
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


FILES = ("status", "uid_map", "gid_map", "cgroup", "mountinfo", "attr/current")
NS = ("pid", "net", "ipc", "uts", "user", "cgroup", "mnt")
CGROUP = (
    "memory/memory.limit_in_bytes",
    "pids/pids.max",
    "cpu/cpu.cfs_quota_us",
    "cpu/cpu.cfs_period_us",
    "cpu/cpu.shares",
    "devices/devices.list",
    "pids/cgroup.procs",
)


def read_kernel_state(pid: int, cgroup: str) -> None:
    """The /proc and cgroup files harden reads of one container (``cgroup``: its path)."""
    for name in FILES:
        _read(f"/proc/{pid}/{name}")
    for kind in NS:
        with contextlib.suppress(OSError):
            os.readlink(f"/proc/{pid}/ns/{kind}")  # noqa: PTH115
    for name in CGROUP:
        controller, file = name.split("/")
        _read(f"/sys/fs/cgroup/{controller}{cgroup}/{file}")


def main() -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(
        os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
    )
    reader = sock.makefile("rb")
    count = 0
    for summary in _get(reader, sock, "/containers/json"):
        info = _get(reader, sock, f"/containers/{summary['Id']}/json")
        read_kernel_state(info["State"]["Pid"], f"/docker/{info['Id']}")
        count += 1
    print(count)
    sys.exit(0)


if __name__ == "__main__":
    main()
