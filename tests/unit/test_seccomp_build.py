"""What the seccomp generator promises: allow-list only, argument filters with teeth,
fallback-friendly denials and an origin for every allowed syscall."""

from __future__ import annotations

from pathlib import Path

import pytest

from harden.kernel import constants as k
from harden.kernel.syscalls import Arch
from harden.layers.seccomp.build import ORIGIN_PREFIX, allowed_names, build_profile
from harden.layers.seccomp.model import Action, ArgCond, Decision, Op, Profile
from harden.layers.seccomp.semantics import Semantics
from harden.profile.catalog import syscall_sets
from harden.profile.loader import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]


def _profile(text: str) -> Profile:
    return build_profile(parse_spec(text).spec)


def _decide(profile: Profile, name: str, *args: int, arch: Arch = Arch.X86_64) -> Decision:
    group = profile.group_for(arch)
    assert group is not None
    return Semantics(profile, group, frozenset()).decide(arch, name, args)


ALLOW = Decision(Action.ALLOW)
EPERM = Decision(Action.ERRNO, k.EPERM)
ENOSYS = Decision(Action.ERRNO, k.ENOSYS)


def test_default_is_eperm_and_nothing_allows_everything() -> None:
    p = _profile("name: x\n")
    assert p.default_decision() == EPERM
    assert p.default_action is Action.ERRNO
    assert all(r.action in (Action.ALLOW, Action.ERRNO) for r in p.rules)


def test_arch_map_covers_sub_architectures() -> None:
    p = _profile("name: x\n")
    assert [(g.native, g.subs) for g in p.arch_map] == [
        (Arch.X86_64, (Arch.X86, Arch.X32)),
        (Arch.AARCH64, (Arch.ARM,)),
    ]


def test_clone_without_namespace_flags_only() -> None:
    p = _profile("name: x\n")
    assert _decide(p, "clone", 0x3D0F00) == ALLOW  # pthread_create's flags
    for flag in (k.CLONE_NEWUSER, k.CLONE_NEWNS, k.CLONE_NEWNET, k.CLONE_NEWPID):
        assert _decide(p, "clone", 0x3D0F00 | flag) == EPERM


def test_sys_admin_lifts_the_clone_filter_and_allows_clone3() -> None:
    p = _profile("name: x\ncapabilities: [{name: SYS_ADMIN, reason: nested containers}]\n")
    assert _decide(p, "clone", k.CLONE_NEWUSER) == ALLOW
    assert _decide(p, "clone3") == ALLOW


def test_clone3_gets_enosys_so_glibc_falls_back() -> None:
    assert _decide(_profile("name: x\n"), "clone3") == ENOSYS


def test_socket_families_follow_the_network_section() -> None:
    none = _profile("name: x\n")
    assert _decide(none, "socket", 2, 1) == EPERM
    web = _profile("name: x\nnetwork: {listen: [{port: 80}], ipv6: false}\n")
    assert _decide(web, "socket", 2, 1 | 0x80000) == ALLOW  # SOCK_STREAM|SOCK_CLOEXEC
    assert _decide(web, "socket", 10, 1) == EPERM  # inet6 off
    assert _decide(web, "socket", 1, 1) == EPERM  # no unix
    assert _decide(web, "socket", 2, k.SOCK_RAW) == EPERM  # raw needs raw_sockets


@pytest.mark.parametrize("family", ["alg", "vsock", "packet"])
def test_dangerous_families_only_when_asked(family: str) -> None:
    number = k.ADDRESS_FAMILIES[family]
    broad = _profile(
        "name: x\nnetwork: {listen: [{port: 80}], outbound: [{port: 53}], "
        "unix: true, netlink: true}\n"
    )
    assert _decide(broad, "socket", number, 5) == EPERM
    asked = _profile(f"name: x\nnetwork: {{outbound: [{{port: 53}}], families: [{family}]}}\n")
    assert _decide(asked, "socket", number, 5) == ALLOW


def test_socketpair_is_unix_only() -> None:
    p = _profile("name: x\nnetwork: {unix: true}\n")
    assert _decide(p, "socketpair", 1, 1) == ALLOW
    assert _decide(p, "socketpair", 2, 1) == EPERM


def test_personality_only_safe_values() -> None:
    p = _profile("name: x\nsyscalls: {sets: [process-control]}\n")
    assert _decide(p, "personality", 0) == ALLOW
    assert _decide(p, "personality", 0xFFFFFFFF) == ALLOW
    assert _decide(p, "personality", 0x0040000) == EPERM  # ADDR_NO_RANDOMIZE


def test_x86_socketcall_passes_only_the_granted_socket_operations() -> None:
    """32-bit x86 programs (Debian's glibc) make socket calls through socketcall: it is
    filtered on its call number, so the operations the spec grants pass and no other."""
    p = _profile("name: x\nnetwork: {listen: [{port: 80}]}\n")
    for number in (1, 2, 4, 18):  # socket, bind, listen, accept4
        assert _decide(p, "socketcall", number, arch=Arch.X86) == ALLOW, number
    assert _decide(p, "socketcall", 8, arch=Arch.X86) == EPERM  # socketpair: no AF_UNIX
    assert _decide(p, "socketcall", 0x100000001, arch=Arch.X86) == EPERM
    assert _decide(_profile("name: x\n"), "socketcall", 1, arch=Arch.X86) == ENOSYS


@pytest.mark.parametrize("arch", [Arch.X86_64, Arch.X86, Arch.X32, Arch.AARCH64, Arch.ARM])
def test_no_profile_lets_a_program_type_into_a_terminal(arch: Arch) -> None:
    p = _profile("name: x\n")
    for request in (k.TIOCSTI, k.TIOCLINUX):
        for high in (0, 1, 0xFFFFFFFF):  # the kernel reads 32 bits: the upper ones are noise
            assert _decide(p, "ioctl", 0, high << 32 | request, arch=arch) == EPERM
    for request in (0x5401, 0x5413, 0x541B, 0x541D, 0x5421, 0x80045430, 0xFFFFFFFF):
        assert _decide(p, "ioctl", 0, request, arch=arch) == ALLOW, hex(request)


def test_x86_ipc_passes_only_the_granted_system_v_calls() -> None:
    p = _profile("name: x\nsyscalls: {sets: [ipc-shm]}\n")
    for call in (21, 22, 23, 24):  # shmat, shmdt, shmget, shmctl
        assert _decide(p, "ipc", call, arch=Arch.X86) == ALLOW
        assert _decide(p, "ipc", 1 << 16 | call, arch=Arch.X86) == ALLOW  # a version
    for call in (1, 2, 3, 4, 11, 12, 13, 14):  # semaphores and message queues
        assert _decide(p, "ipc", call, arch=Arch.X86) == EPERM


def test_netlink_is_route_queries_only() -> None:
    p = _profile("name: x\nnetwork: {netlink: true}\n")
    netlink = k.ADDRESS_FAMILIES["netlink"]
    assert _decide(p, "socket", netlink, k.SOCK_RAW, k.NETLINK_ROUTE) == ALLOW
    for protocol in (9, 12, 15):  # audit, netfilter, kobject uevents
        assert _decide(p, "socket", netlink, k.SOCK_RAW, protocol) == EPERM


def test_runtime_base_set_is_always_in() -> None:
    p = _profile("name: x\n")
    runtime = syscall_sets()["runtime-runc"]
    assert runtime.measured is not None
    assert set(runtime.syscalls) <= allowed_names(p, Arch.X86_64) | {"clone3"}


def test_spec_denies_win_over_sets() -> None:
    p = _profile("name: x\nsyscalls: {deny: [uname]}\n")
    assert "uname" not in allowed_names(p, Arch.X86_64)
    assert _decide(p, "uname") == EPERM


def test_every_allowed_syscall_has_an_origin() -> None:
    p = build_profile(load_spec(ROOT / "profiles" / "workloads" / "web.yaml").spec)
    for rule in p.rules:
        assert rule.comment.startswith(ORIGIN_PREFIX), rule
    by_name = {n: r.comment for r in p.rules for n in r.names}
    assert "set network-server" in by_name["bind"]
    assert "set runtime-runc" in by_name["capget"]


def test_capabilities_bring_their_syscalls() -> None:
    p = _profile("name: x\ncapabilities: [{name: SYS_TIME, reason: NTP daemon}]\n")
    assert "clock_settime" in allowed_names(p, Arch.X86_64)
    assert "clock_settime" not in allowed_names(_profile("name: x\n"), Arch.X86_64)


def test_arch_specific_entries_apply_to_their_architecture_only() -> None:
    p = _profile("name: x\nsyscalls: {arch_specific: {x86_64: [membarrier]}}\n")
    assert "membarrier" in allowed_names(p, Arch.X86_64)
    assert "membarrier" not in allowed_names(p, Arch.AARCH64)


@pytest.mark.parametrize("spec", ["web", "db", "batch"])
def test_examples_are_far_tighter_than_the_engine_default(spec: str) -> None:
    p = build_profile(load_spec(ROOT / "profiles" / "workloads" / f"{spec}.yaml").spec)
    assert len(allowed_names(p, Arch.X86_64)) < 200
    dangerous = {
        "mount",
        "ptrace",
        "bpf",
        "kexec_load",
        "init_module",
        "unshare",
        "setns",
        "keyctl",
        "add_key",
        "userfaultfd",
        "perf_event_open",
        "open_by_handle_at",
    }
    assert not dangerous & allowed_names(p, Arch.X86_64)


def test_argcond_semantics() -> None:
    masked = ArgCond(0, Op.MASKED_EQ, 0xF0, 0x10)
    assert masked.matches(0x1F)
    assert not masked.matches(0x2F)
    assert ArgCond(1, Op.GT, 5).matches(6)
    assert not ArgCond(1, Op.GT, 5).matches(5)
