"""`harden verify` on hand-edited bundles: each broken artefact is one FAILED line from
its real checker, the exit code follows, and a missing checker is exit 4."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harden.errors import ExitCode
from tests.conftest import EXAMPLE_SPECS, CliResult, run_harden


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "every"
    result = run_harden("generate", str(EXAMPLE_SPECS["every-field"]), "-o", str(out), "--all")
    assert result.code == 0, result.output
    return out


@pytest.fixture
def bundle(generated: Path, tmp_path: Path) -> Callable[..., Path]:
    def copy(*, selinux: bool = False) -> Path:
        out = tmp_path / "bundle"
        shutil.copytree(generated, out)
        if not selinux:  # secilc takes seconds; most tests are about another artefact
            (out / "harden-everything.cil").unlink()
        return out

    return copy


def _line(result: CliResult, artefact: str) -> str:
    return next(line for line in result.stdout.splitlines() if f" {artefact} " in f"{line} ")


def test_a_clean_bundle_passes_every_checker(bundle: Callable[..., Path]) -> None:
    result = run_harden("verify", str(bundle(selinux=True)))
    assert result.code == 0, result.output
    assert "secilc" in _line(result, "harden-everything.cil")
    assert _line(result, "userns.json").startswith("ok")


def test_a_broken_apparmor_profile_fails(bundle: Callable[..., Path]) -> None:
    out = bundle()
    profile = out / "apparmor.profile"
    profile.write_text(profile.read_text().replace("deny mount,", "mount from nowhere,"))
    result = run_harden("verify", str(out))
    assert result.code == ExitCode.FAILED
    line = _line(result, "apparmor.profile")
    assert line.startswith("FAILED")
    assert "apparmor_parser" in line
    assert "apparmor.profile" in result.stdout.split("note:")[-1]  # reported as edited


def test_a_broken_selinux_module_fails_with_secilc(bundle: Callable[..., Path]) -> None:
    out = bundle(selinux=True)
    module = out / "harden-everything.cil"
    module.write_text(module.read_text().replace("http_port_t", "no_such_port_t"))
    result = run_harden("verify", str(out))
    assert result.code == ExitCode.FAILED
    line = _line(result, "harden-everything.cil")
    assert line.startswith("FAILED")
    assert "harden-everything.cil" in line.split("secilc", 1)[1]


def test_stale_bpf_after_editing_seccomp_json_fails(bundle: Callable[..., Path]) -> None:
    out = bundle()
    seccomp = out / "seccomp.json"
    seccomp.write_text(seccomp.read_text().replace('"sendfile"', '"sendfile",\n"chroot"', 1))
    result = run_harden("verify", str(out))
    line = _line(result, "seccomp.json")
    assert line.startswith("FAILED"), result.output
    assert "differ from what seccomp.json compiles to" in line


SUBIDS = '"subuid": "harden-everything:{0}:65536",\n      "subgid": "harden-everything:{1}:65536"'
FROM_POOL = SUBIDS.format(100000, 100000)


@pytest.mark.parametrize(
    ("file", "old", "new", "expect"),
    [
        ("k8s-container.yaml", "type: Localhost", "type: Bogus", "'Bogus' is not one of"),
        ("spo-seccomp.yaml", "defaultAction: SCMP_ACT_ERRNO", "defaultAction: ERRNO", "ERRNO"),
        ("spo-apparmor.yaml", "- net_raw", "- cap_net_raw", "cap_net_raw"),
        ("spo-selinux.yaml", "- name_bind", "- name_bindd", "has no permission 'name_bindd'"),
        ("compose.yaml", "read_only: true", "read_only: yes please", "not of type 'boolean'"),
        ("oci-config.json", '"hostID": 100000', '"hostID": -1', "less than the minimum"),
        ("capabilities.json", '"NET_BIND_SERVICE",', '"NET_BIND_SERVIC",', "unknown capability"),
        ("capabilities.json", '"bounding": [', '"bounding": ["CAP_SYS_ADMIN",', "'oci' sets"),
        ("userns.json", FROM_POOL, SUBIDS.format(0, 0), "host root"),
        ("userns.json", FROM_POOL, SUBIDS.format(100000, 200000), "subuid and subgid differ"),
    ],
)
def test_edited_files_are_refused_by_their_checker(
    bundle: Callable[..., Path], file: str, old: str, new: str, expect: str
) -> None:
    out = bundle()
    path = out / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    result = run_harden("verify", str(out))
    assert result.code == ExitCode.FAILED
    line = _line(result, file)
    assert line.startswith("FAILED"), line
    assert expect in line


def test_a_missing_checker_is_exit_4(
    bundle: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.which
    monkeypatch.setattr(
        "harden.system.tools.shutil.which",
        lambda tool, **kw: None if tool == "apparmor_parser" else real(tool, **kw),
    )
    result = run_harden("verify", str(bundle()))
    assert result.code == ExitCode.ENVIRONMENT
    line = _line(result, "apparmor.profile")
    assert line.startswith("error")
    assert "apt-get install apparmor" not in line  # the hint is not repeated per line
    assert "apparmor_parser is not installed" in line


def test_not_a_bundle_is_exit_2(tmp_path: Path) -> None:
    result = run_harden("verify", str(tmp_path))
    assert result.code == ExitCode.INPUT
    assert "not a harden bundle" in result.stderr
