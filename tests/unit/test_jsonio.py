"""Reading Docker/OCI seccomp JSON: real-world profiles parse, bad ones are located errors."""

from __future__ import annotations

import json

import pytest

from harden.errors import FileProblems, InputError
from harden.kernel.syscalls import Arch
from harden.layers.seccomp.build import allowed_names
from harden.layers.seccomp.model import Action
from harden.layers.seccomp.parse import load_profile, parse_profile
from harden.layers.seccomp.render import to_docker_json, to_oci_json
from tests.conftest import DATA

CONTAINERS_COMMON = DATA / "seccomp" / "containers-common-0.50.1.json"


def test_containers_common_default_profile_parses() -> None:
    profile = load_profile(CONTAINERS_COMMON)
    assert profile.default_action is Action.ERRNO
    assert profile.default_errno == 38
    allowed = allowed_names(profile, Arch.X86_64, frozenset({"CHOWN"}))
    assert 300 < len(allowed) < 400
    assert "ptrace" in allowed  # allowed on kernels >= 4.8 in this profile
    assert "bpf" not in allowed  # only with SYS_ADMIN (includes.caps)
    assert "bpf" in allowed_names(profile, Arch.X86_64, frozenset({"SYS_ADMIN"}))
    assert "arch_prctl" in allowed  # includes.arches amd64
    assert "arch_prctl" not in allowed_names(profile, Arch.AARCH64, frozenset())


def test_round_trip_keeps_meaning() -> None:
    profile = load_profile(CONTAINERS_COMMON)
    again = parse_profile(json.dumps(to_docker_json(profile)), "again.json")
    for arch in (Arch.X86_64, Arch.AARCH64):
        assert allowed_names(again, arch) == allowed_names(profile, arch)


def test_oci_form_lists_every_architecture_flat() -> None:
    oci = to_oci_json(load_profile(CONTAINERS_COMMON))
    assert "SCMP_ARCH_X86" in oci["architectures"]
    assert "archMap" not in oci


def test_unknown_keys_and_actions_are_located() -> None:
    text = (
        '{\n  "defaultAction": "SCMP_ACT_ERRNO",\n  "syscalls": [\n    {"names": ["read"],'
        ' "action": "SCMP_ACT_ALOW"}\n  ],\n  "defualtErrnoRet": 1\n}\n'
    )
    with pytest.raises(FileProblems) as info:
        parse_profile(text, "bad.json")
    rendered = info.value.diagnostics()
    assert "bad.json:4: syscalls[0].action" in rendered
    assert "bad.json:6: defualtErrnoRet: unknown key" in rendered


def test_invalid_json_has_a_line() -> None:
    with pytest.raises(FileProblems, match=r"bad.json:2: not valid JSON"):
        parse_profile('{"defaultAction":\n}', "bad.json")


def test_both_arch_forms_are_refused() -> None:
    with pytest.raises(InputError, match="both"):
        parse_profile(
            '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],'
            ' "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}',
            "p.json",
        )
