"""The effective layer of one container: what the kernel applied to its processes.

Reads /proc/PID/{status,uid_map,gid_map,ns/*,attr/current,mountinfo,cgroup}, the cgroup
files and the status of every member process. A file that cannot be read makes the facts
it carries *failed* (with the reason); a fact the kernel cannot show is *unavailable*.
"""

from __future__ import annotations

from collections.abc import Callable

from harden.audit.sources.proc import cgroups
from harden.audit.sources.proc.host import HostContext
from harden.audit.sources.proc.mounts import container_mounts, parse_mountinfo
from harden.audit.state.facts import FACTS
from harden.audit.state.model import Layer, LayerBuilder, TargetKind
from harden.kernel.capabilities import decode_mask
from harden.system.proc import (
    NAMESPACES,
    CgroupLine,
    IdRange,
    ProcFS,
    ProcUnreadable,
    effective_uid,
    inside_id,
    parse_cgroup,
    parse_id_map,
    parse_status,
)

EFFECTIVE_PATHS = tuple(
    p for p, f in FACTS[TargetKind.CONTAINER].items() if Layer.EFFECTIVE in f.layers
)
_SECCOMP_MODES = {"0": "disabled", "1": "strict", "2": "filter"}
_CAP_FIELDS = {
    "caps.effective": "CapEff",
    "caps.permitted": "CapPrm",
    "caps.bounding": "CapBnd",
    "caps.ambient": "CapAmb",
}


def _guard(layer: LayerBuilder, paths: tuple[str, ...], step: Callable[[], None]) -> None:
    """Run one collection step; on an unreadable file, mark its facts failed."""
    try:
        step()
    except ProcUnreadable as exc:
        layer.fail_all(paths, exc.reason)
    except (ValueError, KeyError, IndexError) as exc:
        layer.fail_all(paths, f"unexpected content: {exc}")


def collect(pid: int, host: HostContext, container_id: str = "") -> LayerBuilder:
    """Every effective fact of the container whose main process is ``pid``."""
    layer = LayerBuilder(Layer.EFFECTIVE)
    proc = host.proc
    try:
        cgroup_lines = parse_cgroup(proc.read(pid, "cgroup"))
        status = parse_status(proc.read(pid, "status"))
    except ProcUnreadable as exc:
        reason = exc.reason
        if exc.gone:
            reason = f"the container's main process {pid} exited during the scan"
        layer.fail_all(EFFECTIVE_PATHS, reason)
        return layer
    if container_id and not any(container_id in line.path for line in cgroup_lines):
        layer.fail_all(
            EFFECTIVE_PATHS,
            f"process {pid} is no longer in the container's cgroup "
            "(the container stopped during the scan)",
        )
        return layer
    src = f"/proc/{pid}/status"
    for path, key in _CAP_FIELDS.items():
        layer.set(path, list(decode_mask(int(status[key], 16), host.cap_last_cap)), f"{src}: {key}")
    mode = status.get("Seccomp")
    if mode is not None:
        layer.set("seccomp.mode", _SECCOMP_MODES.get(mode, f"unknown ({mode})"), f"{src}: Seccomp")
    if "Seccomp_filters" in status:
        layer.set("seccomp.filters", int(status["Seccomp_filters"]), f"{src}: Seccomp_filters")
    else:
        layer.unavailable("seccomp.filters", "this kernel does not report Seccomp_filters")
    if "NoNewPrivs" in status:
        layer.set("no_new_privs", status["NoNewPrivs"] == "1", f"{src}: NoNewPrivs")
    uid_map: tuple[IdRange, ...] = ()

    def users() -> None:
        nonlocal uid_map
        uid_map = parse_id_map(proc.read(pid, "uid_map"))
        gid_map = parse_id_map(proc.read(pid, "gid_map"))
        layer.set("userns.uid_map", [r.as_dict() for r in uid_map], f"/proc/{pid}/uid_map")
        layer.set("userns.gid_map", [r.as_dict() for r in gid_map], f"/proc/{pid}/gid_map")
        host_uid = effective_uid(status)
        layer.set("user.host_uid", host_uid, f"{src}: Uid")
        inside = inside_id(host_uid, uid_map)
        layer.set(
            "user.uid",
            inside if inside is not None else 65534,
            f"{src}: Uid through /proc/{pid}/uid_map",
        )

    _guard(layer, ("userns.uid_map", "userns.gid_map", "user.host_uid", "user.uid"), users)
    _namespaces(layer, pid, host)
    _lsm(layer, pid, host)
    _guard(
        layer,
        ("rootfs.read_only", "mounts", "masked_paths", "readonly_paths"),
        lambda: _mounts(layer, pid, host, container_id),
    )
    _cgroup_facts(layer, (pid, status), host, cgroup_lines, uid_map)
    return layer


def _namespaces(layer: LayerBuilder, pid: int, host: HostContext) -> None:
    for kind in NAMESPACES:
        path = f"namespaces.{kind}"
        if not host.namespaces:
            layer.fail(path, f"the host's namespaces cannot be read: {host.namespace_problem}")
            continue
        try:
            inode = host.proc.namespace(pid, kind)
        except ProcUnreadable as exc:
            layer.fail(path, exc.reason)
            continue
        same = inode == host.namespaces[kind]
        layer.set(
            path, "host" if same else "private", f"/proc/{pid}/ns/{kind} vs {host.namespace_origin}"
        )


def _lsm(layer: LayerBuilder, pid: int, host: HostContext) -> None:
    layer.set("lsm.apparmor_enabled", host.apparmor_enabled, "/sys/module/apparmor")
    layer.set("lsm.selinux_enabled", host.selinux_enabled, "/sys/fs/selinux/enforce")
    try:
        label = host.proc.read(pid, "attr/current").strip("\x00\n ")
    except ProcUnreadable as exc:
        if "Invalid argument" in exc.reason:
            layer.unavailable("lsm.label", "no security module provides process labels here")
        else:
            layer.fail("lsm.label", exc.reason)
        return
    layer.set("lsm.label", label, f"/proc/{pid}/attr/current")


def _mounts(layer: LayerBuilder, pid: int, host: HostContext, container_id: str) -> None:
    if host.mounts_problem:
        raise ProcUnreadable(f"the host's mount table cannot be read: {host.mounts_problem}")
    result = container_mounts(
        parse_mountinfo(host.proc.read(pid, "mountinfo")), host.mounts, container_id
    )
    origin = f"/proc/{pid}/mountinfo"
    if result.rootfs_read_only is not None:
        layer.set("rootfs.read_only", result.rootfs_read_only, f"{origin}: /")
    layer.set("mounts", result.mounts, f"{origin} resolved against the host's mount table")
    layer.set("masked_paths", result.masked, origin)
    layer.set("readonly_paths", result.readonly, origin)


def _cgroup_facts(
    layer: LayerBuilder,
    main: tuple[int, dict[str, str]],
    host: HostContext,
    lines: tuple[CgroupLine, ...],
    uid_map: tuple[IdRange, ...],
) -> None:
    proc = host.proc
    dirs = cgroups.locate(lines, host.mounts, proc.sys)
    readers = (
        ("resources.memory", dirs.memory, cgroups.memory_limit),
        ("resources.pids", dirs.pids, cgroups.pids_limit),
        ("resources.cpu_millis", dirs.cpu, cgroups.cpu_millis),
        ("resources.cpu_shares", dirs.cpu, cgroups.cpu_shares),
    )
    for path, directory, read in readers:
        if directory is None:
            layer.unavailable(path, "the controller is not mounted on this host")
            continue
        _limit(layer, proc, path, directory, read)
    if dirs.devices is None:
        reason = "cgroup v2 device rules are an eBPF program; not readable"
        layer.unavailable("devices.passed", reason)
        layer.unavailable("devices.all_allowed", reason)
    else:
        devices_dir = dirs.devices

        def devices() -> None:
            rules = cgroups.device_rules(proc, devices_dir)
            origin = devices_dir.file("devices.list")
            layer.set("devices.all_allowed", "a *:* rwm" in rules, origin)
            layer.set("devices.passed", cgroups.devices_passed(rules, host.device_path), origin)

        _guard(layer, ("devices.passed", "devices.all_allowed"), devices)
    if dirs.procs is None:
        layer.unavailable("processes", "no cgroup hierarchy lists the container's processes")
        return
    procs_dir = dirs.procs
    _guard(layer, ("processes",), lambda: _processes(layer, host, procs_dir, uid_map, main))


def _limit(
    layer: LayerBuilder,
    proc: ProcFS,
    path: str,
    directory: cgroups.Dir,
    read: Callable[[ProcFS, cgroups.Dir], int],
) -> None:
    def step() -> None:
        layer.set(path, read(proc, directory), directory.path)

    _guard(layer, (path,), step)


def _processes(
    layer: LayerBuilder,
    host: HostContext,
    directory: cgroups.Dir,
    uid_map: tuple[IdRange, ...],
    known: tuple[int, dict[str, str]],
) -> None:
    out = []
    for member in cgroups.member_pids(host.proc, directory):
        try:
            if member == known[0]:
                status = known[1]  # the main process: already read
            else:
                status = parse_status(host.proc.read(member, "status"))
        except ProcUnreadable as exc:
            if exc.gone:
                continue  # exited between listing and reading: not a member any more
            raise
        host_uid = effective_uid(status)
        inside = inside_id(host_uid, uid_map)
        out.append(
            {
                "pid": member,
                "name": status.get("Name", ""),
                "host_uid": host_uid,
                "uid": inside if inside is not None else 65534,
            }
        )
    layer.set("processes", out, f"{directory.path}/cgroup.procs and /proc/PID/status")
