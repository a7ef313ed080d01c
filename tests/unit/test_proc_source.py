"""The effective layer from /proc and /sys, on cgroup v1 (hybrid, like this host) and v2.

Fixture trees stand in for /proc and /sys: a host PID 1, a container's main process and
an exec'd root process. The same code reads the real /proc in the integration tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harden.audit.sources.proc import kernel
from harden.audit.sources.proc.host import host_context
from harden.audit.sources.proc.mounts import (
    HostMounts,
    container_mounts,
    parse_mountinfo,
    unescape,
)
from harden.audit.state.model import GapKind
from harden.system.proc import ProcFS, inside_id, parse_cgroup, parse_id_map, parse_status

CID = "ab" * 32
HOST_NS = {"pid": 1, "net": 2, "ipc": 3, "uts": 4, "user": 5, "cgroup": 6, "mnt": 7}
CONTAINER_NS = {"pid": 11, "net": 2, "ipc": 13, "uts": 14, "user": 5, "cgroup": 16, "mnt": 17}
ESC = "\x1b"

HOST_MOUNTS_V2 = """\
22 1 0:21 / /proc rw - proc proc rw
23 1 0:22 / /sys rw - sysfs sysfs rw
24 1 0:6 / /dev rw - devtmpfs devtmpfs rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
28 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
29 27 0:40 / /run rw shared:5 - tmpfs tmpfs rw
"""
HOST_MOUNTS_V1 = """\
22 1 0:21 / /proc rw - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
29 27 0:40 / /run rw shared:5 - tmpfs tmpfs rw
31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw
32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices
39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
"""
CONTAINER_MOUNTS = f"""\
149 98 0:62 / / ro,relatime - overlay overlay rw,lowerdir=/x
150 149 0:65 / /proc rw,nosuid - proc proc rw
151 149 0:66 / /dev rw,nosuid - tmpfs tmpfs rw
166 149 254:0 /etc /host\\040etc ro,relatime - ext4 /dev/vda rw
167 149 254:0 /srv/{ESC}[31mred /data rw,relatime shared:4 - ext4 /dev/vda rw
168 149 254:0 /var/lib/docker/containers/{CID}/hosts /etc/hosts rw - ext4 /dev/vda rw
171 149 0:40 /docker.sock /var/run/docker.sock rw,relatime - tmpfs tmpfs rw
99 150 0:65 /sys /proc/sys ro,nosuid - proc proc rw
104 150 0:66 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw
106 149 0:72 / /sys/firmware ro,relatime - tmpfs tmpfs ro
"""
STATUS = """\
Name:\tsleep
PPid:\t90
Uid:\t1000\t1000\t1000\t1000
NoNewPrivs:\t1
Seccomp:\t2
Seccomp_filters:\t1
CapInh:\t0000000000000000
CapPrm:\t0000000000000000
CapEff:\t0000000000000000
CapBnd:\t0000000000201000
CapAmb:\t0000000000000000
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _process(proc: Path, pid: int, namespaces: dict[str, int], **files: str) -> None:
    for kind, inode in namespaces.items():
        link = proc / str(pid) / "ns" / kind
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(f"{kind}:[{inode}]")
    for name, text in files.items():
        _write(proc / str(pid) / name.replace("__", "/"), text)


def _tree(tmp_path: Path, version: int) -> tuple[ProcFS, Path]:
    proc, sys = tmp_path / "proc", tmp_path / "sys"
    _write(proc / "sys" / "kernel" / "cap_last_cap", "40\n")
    _process(proc, 1, HOST_NS, mountinfo=HOST_MOUNTS_V2 if version == 2 else HOST_MOUNTS_V1)
    ids = "0 0 4294967295\n"
    if version == 2:
        cgroup = f"0::/system.slice/docker-{CID}.scope\n"
        base = sys / "fs" / "cgroup" / "system.slice" / f"docker-{CID}.scope"
        for name, text in {
            "memory.max": "67108864\n",
            "pids.max": "max\n",
            "cpu.max": "50000 100000\n",
            "cpu.weight": "100\n",
            "cgroup.controllers": "cpu memory pids\n",
            "cgroup.procs": "100\n101\n",
        }.items():
            _write(base / name, text)
    else:
        lines = [
            f"{i}:{c}:/docker/{CID}" for i, c in enumerate(("cpu", "memory", "devices", "pids"))
        ]
        cgroup = "\n".join([*lines, f"0::/docker/{CID}"]) + "\n"
        cg = sys / "fs" / "cgroup"
        _write(cg / "memory" / "docker" / CID / "memory.limit_in_bytes", "9223372036854771712\n")
        _write(cg / "pids" / "docker" / CID / "pids.max", "50\n")
        _write(cg / "pids" / "docker" / CID / "cgroup.procs", "100\n101\n")
        _write(cg / "cpu" / "docker" / CID / "cpu.cfs_quota_us", "-1\n")
        _write(cg / "cpu" / "docker" / CID / "cpu.cfs_period_us", "100000\n")
        _write(cg / "cpu" / "docker" / CID / "cpu.shares", "512\n")
        _write(
            cg / "devices" / "docker" / CID / "devices.list",
            "c *:* m\nb *:* m\nc 1:3 rwm\nc 10:229 rwm\n",
        )
    _process(
        proc,
        100,
        CONTAINER_NS,
        status=STATUS,
        cgroup=cgroup,
        uid_map=ids,
        gid_map=ids,
        mountinfo=CONTAINER_MOUNTS,
        attr__current="docker-default (enforce)\n",
    )
    root_status = STATUS.replace("Uid:\t1000\t1000\t1000\t1000", "Uid:\t0\t0\t0\t0")
    _process(proc, 101, CONTAINER_NS, status=root_status.replace("sleep", "sh"), cgroup=cgroup)
    return ProcFS(str(proc), str(sys)), proc


@pytest.mark.parametrize("version", [1, 2])
def test_effective_layer_from_proc(tmp_path: Path, version: int) -> None:
    procfs, _ = _tree(tmp_path, version)
    layer = kernel.collect(100, host_context(procfs), CID)
    facts = {path: fact.value for path, fact in layer.facts.items()}
    assert facts["caps.bounding"] == ["NET_ADMIN", "SYS_ADMIN"]
    assert facts["caps.effective"] == []
    assert facts["seccomp.mode"] == "filter"
    assert facts["no_new_privs"] is True
    assert facts["user.uid"] == 1000
    assert facts["namespaces.net"] == "host"
    assert facts["namespaces.pid"] == "private"
    assert facts["namespaces.user"] == "host"
    assert facts["lsm.label"] == "docker-default (enforce)"
    assert facts["rootfs.read_only"] is True
    assert facts["masked_paths"] == ["/proc/kcore", "/sys/firmware"]
    assert facts["readonly_paths"] == ["/proc/sys"]
    assert facts["processes"] == [
        {"pid": 100, "name": "sleep", "host_uid": 1000, "uid": 1000},
        {"pid": 101, "name": "sh", "host_uid": 0, "uid": 0},
    ]
    by_destination = {m["destination"]: m for m in facts["mounts"]}
    assert set(by_destination) == {"/host etc", "/data", "/var/run/docker.sock"}
    assert by_destination["/host etc"]["source"] == "/etc"
    assert by_destination["/host etc"]["rw"] is False
    assert by_destination["/data"] == {
        "source": f"/srv/{ESC}[31mred",
        "destination": "/data",
        "type": "bind",
        "rw": True,
        "propagation": "shared",
        "within": "",
    }
    assert "docker.sock" in by_destination["/var/run/docker.sock"]["source"]
    assert layer.facts["caps.bounding"].origin == "/proc/100/status: CapBnd"
    if version == 2:
        assert (facts["resources.memory"], facts["resources.pids"]) == (67108864, 0)
        assert (facts["resources.cpu_millis"], facts["resources.cpu_shares"]) == (500, 0)
        assert layer.gaps["effective.devices.passed"].kind is GapKind.UNAVAILABLE
    else:
        assert (facts["resources.memory"], facts["resources.pids"]) == (0, 50)
        assert (facts["resources.cpu_millis"], facts["resources.cpu_shares"]) == (0, 512)
        assert facts["devices.all_allowed"] is False
        assert [d["permissions"] for d in facts["devices.passed"]] == ["rwm"]


def test_a_process_that_exits_fails_every_effective_fact(tmp_path: Path) -> None:
    procfs, proc = _tree(tmp_path, 2)
    (proc / "100" / "status").unlink()
    layer = kernel.collect(100, host_context(procfs), CID)
    assert not layer.facts
    gap = layer.gaps["effective.caps.bounding"]
    assert gap.kind is GapKind.FAILED
    assert "exited during the scan" in gap.reason


def test_a_reused_pid_is_not_taken_for_the_container(tmp_path: Path) -> None:
    procfs, proc = _tree(tmp_path, 2)
    (proc / "100" / "cgroup").write_text("0::/user.slice/session-1.scope\n")
    layer = kernel.collect(100, host_context(procfs), CID)
    assert not layer.facts
    assert "no longer in the container's cgroup" in layer.gaps["effective.seccomp.mode"].reason


def test_an_unreadable_file_fails_only_the_facts_it_carries(tmp_path: Path) -> None:
    procfs, proc = _tree(tmp_path, 2)
    (proc / "100" / "mountinfo").unlink()
    (proc / "100" / "ns" / "ipc").unlink()
    layer = kernel.collect(100, host_context(procfs), CID)
    assert layer.gaps["effective.mounts"].kind is GapKind.FAILED
    assert layer.gaps["effective.namespaces.ipc"].kind is GapKind.FAILED
    assert layer.facts["caps.bounding"].value == ["NET_ADMIN", "SYS_ADMIN"]
    assert layer.facts["namespaces.pid"].value == "private"


def test_when_pid_1_is_unreadable_harden_compares_with_its_own_namespaces(tmp_path: Path) -> None:
    procfs, proc = _tree(tmp_path, 2)
    for link in (proc / "1" / "ns").iterdir():
        link.unlink()
    own = {kind: Path(f"/proc/self/ns/{kind}").stat().st_ino for kind in HOST_NS}
    _process(proc, "self", own)  # type: ignore[arg-type]
    host = host_context(procfs)
    assert host.namespace_origin == "/proc/self/ns (harden itself)"
    assert host.namespaces == own


def test_parsers() -> None:
    status = parse_status(STATUS)
    assert status["CapBnd"] == "0000000000201000"
    ranges = parse_id_map("         0     100000      65536\n")
    assert inside_id(100000, ranges) == 0
    assert inside_id(99999, ranges) is None
    lines = parse_cgroup("12:cpu,cpuacct:/docker/x\n0::/docker/x\nbroken\n")
    assert [(line.controllers, line.path) for line in lines] == [
        (("cpu", "cpuacct"), "/docker/x"),
        ((), "/docker/x"),
    ]
    assert unescape("/a\\040b\\011c\\134d") == "/a b\tc\\d"


def test_host_path_resolution_uses_the_longest_matching_root() -> None:
    host = HostMounts(
        parse_mountinfo(
            "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
            "2 1 8:1 /var/lib/docker /var/lib/docker rw - ext4 /dev/sda1 rw\n"
            "3 1 8:2 /data /mnt/data rw - ext4 /dev/sdb rw\n"
        )
    )
    mounts = container_mounts(
        parse_mountinfo(
            "10 9 8:1 /var/lib/docker/volumes/v/_data /v rw - ext4 /dev/sda1 rw\n"
            "11 9 8:2 /data/x /x rw - ext4 /dev/sdb rw\n"
            "12 9 8:3 / /unknown rw - ext4 /dev/sdc rw\n"
        ),
        host,
        "",
    )
    assert [(m["source"], m["destination"]) for m in mounts.mounts] == [
        ("/mnt/data/x", "/x"),  # the broader host path first
        ("/var/lib/docker/volumes/v/_data", "/v"),
    ]


def test_a_recursive_bind_is_one_mount_plus_what_it_makes_writable() -> None:
    """-v /:/host:ro brings the host's whole mount table along; each submount that adds
    nothing is folded into it, and the writable ones under it say where they came from."""
    host_lines = ["1 0 8:1 / / rw - ext4 /dev/sda1 rw", "2 1 0:5 / /proc rw - proc proc rw"]
    host_lines += [
        f"{3 + i} 1 8:1 /var/lib/app{i} /srv/app{i} ro - ext4 /dev/sda1 ro" for i in range(500)
    ]
    host = HostMounts(parse_mountinfo("\n".join(host_lines) + "\n"))
    inside = [
        "10 9 8:1 / /host ro,rbind - ext4 /dev/sda1 ro",
        "11 10 0:5 / /host/proc rw - proc proc rw",
    ]
    inside += [
        f"{12 + i} 10 8:1 /var/lib/app{i} /host/srv/app{i} ro - ext4 /dev/sda1 ro"
        for i in range(500)
    ]
    mounts = container_mounts(parse_mountinfo("\n".join(inside) + "\n"), host, "").mounts
    assert [(m["source"], m["destination"], m["rw"], m["within"]) for m in mounts] == [
        ("/", "/host", False, ""),
        ("/proc", "/host/proc", True, "/host"),  # writable under a read-only bind: kept
    ]


@pytest.mark.parametrize(
    ("line", "runtime"),
    [
        (f"0::/system.slice/docker-{CID}.scope", "docker"),
        (f"4:memory:/docker/{CID}", "docker"),
        (f"0::/machine.slice/libpod-{CID}.scope/container", "podman"),
        (f"0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-{CID}.scope", "containerd"),
        (f"0::/kubepods/besteffort/pod1/{CID}", "containerd"),
        (f"0::/kubepods.slice/kubepods-burstable.slice/crio-{CID}.scope", "crio"),
        (f"0::/system.slice/nerdctl-{CID}.scope", "containerd"),
        ("0::/lxc.payload.web01", "lxc"),
    ],
)
def test_containers_of_every_runtime_are_recognised_by_cgroup(line: str, runtime: str) -> None:
    from harden.audit.sources.proc.scan import container_of

    found = container_of(line + "\n")
    assert found is not None
    assert found[1] == runtime
    assert found[0] in (CID, "web01")


def test_host_processes_are_not_containers() -> None:
    from harden.audit.sources.proc.scan import container_of

    for line in ("0::/user.slice/user-0.slice/session-1.scope", "0::/", "0::/init.scope"):
        assert container_of(line + "\n") is None


def test_mounts_are_listed_broadest_host_path_first() -> None:
    # a report that cuts a finding's evidence short must keep the /etc mount, not a long
    # harmless one listed before it
    from harden.audit.state.facts import mounts_in_order

    mounts = [
        {"source": "/var/lib/app/cache/very/long/harmless/path", "destination": "/cache"},
        {"source": "/var/../etc", "destination": "/host-etc"},
        {"source": "/", "destination": "/host"},
    ]
    ordered = mounts_in_order(mounts)
    assert [m["source"] for m in ordered] == [
        "/",
        "/etc",  # normalised: /var/../etc is /etc
        "/var/lib/app/cache/very/long/harmless/path",
    ]
