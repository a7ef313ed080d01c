"""The eBPF recorder's maps, as bpftrace prints them, become the facts a spec needs."""

from __future__ import annotations

import json

from harden.kernel.syscalls import Arch, number
from harden.runtime.record.ebpf_observe import Maps, observations
from harden.runtime.record.ebpf_program import MAX_KEYS, build

PROGRAM = build(Arch.X86_64)
OPENAT = number(Arch.X86_64, "openat")
MKDIR = number(Arch.X86_64, "mkdir")
BIND = number(Arch.X86_64, "bind")
CONNECT = number(Arch.X86_64, "connect")
O_WRONLY_CREAT = 0o101


def _maps(**maps: dict[str, int]) -> Maps:
    lines = ['{"type": "attached_probes", "data": {"probes": 7}}', ""]
    lines += [json.dumps({"type": "map", "data": {f"@{k}": v}}) for k, v in maps.items()]
    return Maps.parse(lines)


def test_syscalls_per_abi_with_their_programs_and_the_runtime_left_out() -> None:
    maps = _maps(sys={"0,0,postgres": 10, "0,1,pgbench": 3, "1,1,legacy32": 1,
                      "0,59,runc:[2:INIT]": 1})  # fmt: skip
    obs, _ = observations(maps, PROGRAM, {}, MAX_KEYS)
    assert obs.syscalls[Arch.X86_64] == {"read": {"postgres"}, "write": {"pgbench"}}
    assert obs.syscalls[Arch.X86] == {"exit": {"legacy32"}}  # 32-bit x86: 1 is exit
    assert obs.calls == 14  # the runtime's call is not the workload's


def test_relative_paths_resolve_through_the_working_directory_and_chdir() -> None:
    data_dir, root = 5000, 2
    maps = _maps(
        chdir={f"{root},{data_dir},/var/lib/postgresql/15/main": 1},
        path={
            f"{OPENAT},0,{O_WRONLY_CREAT},-100,{data_dir},postgres,pg_wal/0001": 4,
            f"{OPENAT},0,0,-100,{root},postgres,/etc/passwd": 1,
            f"{OPENAT},0,0,-100,777,postgres,nowhere/known": 1,
            f"{MKDIR},0,0,-100,{data_dir},postgres,base/1": 1,
        },
    )
    obs, extra = observations(maps, PROGRAM, {root: "/"}, MAX_KEYS)
    assert obs.writes == {"/var/lib/postgresql/15/main/pg_wal/0001": {"postgres"}}
    assert "/var/lib/postgresql/15/main/pg_wal/0001" not in obs.reads  # O_WRONLY
    assert obs.reads == {"/etc/passwd": {"postgres"}}
    assert obs.created_dirs == {"/var/lib/postgresql/15/main/base/1": {"postgres"}}
    assert extra.unresolved_paths == 1  # counted, never guessed


def test_a_path_cut_at_the_string_limit_keeps_only_its_directory() -> None:
    long = "/srv/" + "d" * 30 + "/" + "f" * 40
    cut = long[:63]
    maps = _maps(path={f"{OPENAT},0,0,-100,2,app,{cut}": 1})
    obs, extra = observations(maps, PROGRAM, {}, MAX_KEYS)
    assert obs.reads == {"/srv/" + "d" * 30: {"app"}}
    assert extra.cut_paths == 1


def test_capabilities_come_from_the_kernels_checks_granted_or_not() -> None:
    maps = _maps(cap={"1,1,postgres": 3, "5,1,apache2": 1, "21,0,sh": 40, "0,1,runc:[2:INIT]": 1})
    obs, extra = observations(maps, PROGRAM, {}, MAX_KEYS)
    assert set(obs.capability_hints) == {"DAC_OVERRIDE", "KILL"}
    assert obs.capability_hints["KILL"] == {
        "the kernel checked CAP_KILL and granted it": {"apache2"}
    }
    assert extra.denied_caps == {"SYS_ADMIN": {"sh"}}


def test_listen_ports_connections_and_socket_arguments() -> None:
    port_11211_be = 0xCB2B  # htons(11211) as read little-endian from the sockaddr
    maps = _maps(
        listen={"5432,2,postgres": 1},
        net={
            f"{BIND},2,{port_11211_be},0,2,memcached": 1,
            f"{CONNECT},2,{0x3815},16777343,1,psql": 1,
        },
        sock={"41,2,1,0,postgres": 2, "41,16,3,0,ip": 1},
        clone={f"{0x20000000},unshare": 1},
    )
    obs, _ = observations(maps, PROGRAM, {}, MAX_KEYS)
    assert obs.listen == {(5432, "tcp"): {"postgres"}, (11211, "udp"): {"memcached"}}
    assert obs.connect == {("127.0.0.1", 5432, "tcp"): {"psql"}}
    assert obs.socket_types == {("inet", "stream"): {"postgres"}, ("netlink", "raw"): {"ip"}}
    assert obs.namespace_flags == {"CLONE_NEWPID": {"unshare"}}


def test_a_full_map_is_reported() -> None:
    maps = _maps(exec={"sh,/bin/sh": 1, "ls,/bin/ls": 1})
    obs, extra = observations(maps, PROGRAM, {}, max_keys=2)
    assert extra.full_maps == ["exec"]
    assert obs.execs == {"/bin/sh": {"sh"}, "/bin/ls": {"ls"}}


def test_the_program_filters_every_probe_by_the_cgroup() -> None:
    for arch in (Arch.X86_64, Arch.AARCH64):
        text = build(arch).text
        blocks = text.removeprefix(text.splitlines()[0] + "\n").split("\n}\n")  # after BEGIN
        probes = [b.split("{", 1)[0] for b in blocks if "tracepoint:" in b]
        assert len(probes) >= 4
        assert all("cgroup == $1" in p for p in probes), probes
        assert "raw_syscalls:sys_exit" not in text  # no program on every call's exit
        assert text.count("{") == text.count("}")
    assert "cap_capable" not in build(Arch.X86_64, capabilities=False).text


def test_auto_falls_back_to_strace_and_says_why_ebpf_refuses() -> None:
    import pytest

    from harden.errors import ToolMissing
    from harden.runtime.record.backend import Backend, choose

    fallback = choose(Backend.AUTO, None, target="container web")
    assert fallback.backend is Backend.STRACE
    assert fallback.reason.startswith("eBPF recorder unavailable (")
    assert fallback.reason.endswith("): recorded with strace")
    assert choose(Backend.STRACE, 42, target="container web").reason == ""
    with pytest.raises(ToolMissing, match="the eBPF recorder cannot run"):
        choose(Backend.EBPF, None, target="container web")
