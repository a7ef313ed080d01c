"""The kernel capability table and bitmask decoding used by every layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from harden.errors import FileProblems
from harden.kernel import capabilities as caps
from harden.profile.catalog import capability_facts, load_capability_facts
from harden.resources import data_dir


def test_table_matches_the_kernel_numbering() -> None:
    assert caps.NUMBER["CHOWN"] == 0
    assert caps.NUMBER["SYS_ADMIN"] == 21
    assert caps.NUMBER["PERFMON"] == 38
    assert caps.NUMBER["BPF"] == 39
    assert caps.NUMBER["CHECKPOINT_RESTORE"] == 40


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cap_net_raw", "NET_RAW"),
        ("CAP_NET_RAW", "NET_RAW"),
        (" net_raw ", "NET_RAW"),
        ("NET_RAWW", None),
        ("", None),
    ],
)
def test_normalise(raw: str, expected: str | None) -> None:
    assert caps.normalise(raw) == expected


def test_decode_mask_of_docker_default_caps() -> None:
    # CapEff of a default Docker container as /proc/PID/status shows it
    assert set(caps.decode_mask(0xA80425FB)) == caps.DOCKER_DEFAULT


def test_bits_beyond_cap_last_cap_are_shown_not_hidden() -> None:
    assert caps.decode_mask(1 << 41 | 1, last_cap=40) == ("CHOWN", "CAP_41")


def test_encode_is_the_inverse_of_decode() -> None:
    names = ("CHOWN", "NET_ADMIN", "CHECKPOINT_RESTORE")
    assert caps.decode_mask(caps.encode_mask(names)) == names


def test_the_capability_table_must_name_every_capability_and_real_syscalls(
    tmp_path: Path,
) -> None:
    shipped = (data_dir("profiles") / "capabilities.yaml").read_text()
    facts = capability_facts()
    assert facts["SYS_ADMIN"].risk == "critical"
    assert "mount" in facts["SYS_ADMIN"].syscalls
    missing = tmp_path / "missing.yaml"
    start = shipped.index("\nBPF:\n")
    missing.write_text(
        shipped[:start] + shipped[shipped.index("\n", shipped.index("syscalls:", start)) :]
    )
    with pytest.raises(FileProblems, match="capabilities without an entry: BPF"):
        load_capability_facts(missing)
    typo = tmp_path / "typo.yaml"
    typo.write_text(shipped.replace("[chown, fchown,", "[chown, fchownn,", 1))
    with pytest.raises(FileProblems) as info:
        load_capability_facts(typo)
    assert "CHOWN.syscalls" in info.value.diagnostics()
    assert "no architecture has a syscall named 'fchownn'" in info.value.diagnostics()
