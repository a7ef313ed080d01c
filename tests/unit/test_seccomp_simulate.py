"""The compiled BPF must do, call by call, what the JSON profile says - and the check
must catch it when it does not (runc dropping rules, the socketcall bypass)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from harden.errors import CheckFailed
from harden.kernel.syscalls import Arch
from harden.layers.seccomp import bpf
from harden.layers.seccomp.build import build_profile
from harden.layers.seccomp.check import check_seccomp
from harden.layers.seccomp.compile import compile_profile
from harden.layers.seccomp.model import Action, Decision
from harden.layers.seccomp.parse import parse_profile
from harden.layers.seccomp.simulate import simulate
from harden.profile.loader import load_spec, parse_spec
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
SPECS = [
    *sorted((ROOT / "profiles" / "workloads").glob("*.yaml")),
    DATA / "specs" / "good" / "every-field.yaml",
]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_compiled_filters_agree_on_every_call(path: Path) -> None:
    spec = load_spec(path).spec
    profile = build_profile(spec)
    caps = frozenset(spec.capability_names)
    for compiled in compile_profile(profile, caps):
        report = simulate(profile, compiled, caps)
        assert report.mismatches == ()
        assert report.ambiguous == ()
        # every syscall number of every ABI in the group, plus argument variants
        assert report.cases >= report.syscalls


def _profile(syscalls: str, arches: str = '["SCMP_ARCH_X86"]') -> str:
    return (
        '{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, '
        f'"architectures": {arches}, "syscalls": [{syscalls}]}}'
    )


SOCKET_INET = (
    '{"names": ["socket"], "action": "SCMP_ACT_ALLOW", '
    '"args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}'
)


def test_socketcall_bypass_is_caught() -> None:
    # socket() filtered by family, but 32-bit x86 reaches socket through socketcall(2)
    profile = parse_profile(_profile(SOCKET_INET), "p.json")
    with pytest.raises(CheckFailed, match="socketcall"):
        check_seccomp(profile, frozenset())


def test_socketcall_denied_with_enosys_closes_the_bypass() -> None:
    guard = '{"names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}'
    profile = parse_profile(_profile(f"{SOCKET_INET}, {guard}"), "p.json")
    files, reports = check_seccomp(profile, frozenset())
    assert "seccomp.x86_64.bpf" in files
    assert all(r.ok for r in reports)


def test_deny_rule_equal_to_the_default_is_dropped_like_runc_and_caught() -> None:
    # the EPERM rule for socketcall repeats the default, so runc (and harden) drop it
    guard = '{"names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}'
    profile = parse_profile(_profile(f"{SOCKET_INET}, {guard}"), "p.json")
    with pytest.raises(CheckFailed, match=r"x86 socketcall\(0x1\).*ERRNO\(1\).*ALLOW"):
        check_seccomp(profile, frozenset())


def test_conflicting_rules_are_reported() -> None:
    rules = (
        '{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}, '
        '{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}'
    )
    profile = parse_profile(_profile(rules, '["SCMP_ARCH_X86_64"]'), "p.json")
    with pytest.raises(CheckFailed):
        check_seccomp(profile, frozenset())


def _asm(*insns: tuple[int, int, int, int]) -> tuple[bpf.Insn, ...]:
    return bpf.decode(b"".join(struct.pack("<HBBI", *i) for i in insns))


def test_bpf_interpreter_follows_jumps_and_returns() -> None:
    ld_nr, jeq, ret = 0x20, 0x15, 0x06
    program = _asm(
        (ld_nr, 0, 0, 0), (jeq, 0, 1, 39), (ret, 0, 0, 0x7FFF0000), (ret, 0, 0, 0x00050001)
    )
    assert bpf.to_decision(bpf.run(program, bpf.seccomp_data(39, 0))) == Decision(Action.ALLOW)
    assert bpf.to_decision(bpf.run(program, bpf.seccomp_data(40, 0))) == Decision(Action.ERRNO, 1)


def test_bpf_interpreter_refuses_reads_outside_seccomp_data() -> None:
    with pytest.raises(CheckFailed, match="outside"):
        bpf.run(_asm((0x20, 0, 0, 64), (0x06, 0, 0, 0)), bpf.seccomp_data(0, 0))


def test_a_bpf_file_that_is_not_whole_instructions_is_refused() -> None:
    with pytest.raises(CheckFailed):
        bpf.decode(b"\x00" * 12)


def test_foreign_architectures_are_killed() -> None:
    spec = parse_spec("name: x\narchitectures: [aarch64]\n").spec
    profile = build_profile(spec)
    (compiled,) = compile_profile(profile, frozenset())
    program = bpf.decode(compiled.bpf)
    got = bpf.to_decision(bpf.run(program, bpf.seccomp_data(39, Arch.X86_64.audit_arch)))
    assert got == Decision(Action.KILL_THREAD)
