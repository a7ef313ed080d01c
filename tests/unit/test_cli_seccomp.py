"""`harden diff` and `harden explain` on generated bundles and the engine default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harden.cli import cli
from harden.errors import ExitCode
from harden.generate.bundle import build_bundle
from harden.generate.output import write_bundle
from harden.profile.loader import load_spec
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = DATA / "seccomp" / "containers-common-0.50.1.json"


@pytest.fixture(scope="module")
def web_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("web") / "bundle"
    spec = load_spec(ROOT / "profiles" / "workloads" / "web.yaml").spec
    write_bundle(out, build_bundle(spec).files)
    return out


def test_diff_counts_per_architecture(web_bundle: Path) -> None:
    result = CliRunner().invoke(cli, ["diff", str(web_bundle), str(DEFAULT), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    x86 = next(a for a in doc["architectures"] if a["arch"] == "x86_64")
    assert x86["allowed_a"] < x86["allowed_b"] / 2
    assert "ptrace" in x86["only_b"]
    assert x86["only_a"] == []  # nothing the web server needs is beyond the default
    assert "socket" in x86["conditional_a"]
    assert {a["arch"] for a in doc["architectures"]} >= {"x86_64", "x86", "aarch64", "arm"}


def test_diff_text_names_the_counts(web_bundle: Path) -> None:
    result = CliRunner().invoke(
        cli, ["diff", str(web_bundle / "seccomp.json"), str(DEFAULT), "--arch", "x86_64"]
    )
    assert result.exit_code == 0, result.output
    assert "x86_64: A allows" in result.output
    assert "only in B:" in result.output


def test_diff_unknown_capability_is_an_input_error(web_bundle: Path) -> None:
    result = CliRunner().invoke(cli, ["diff", str(web_bundle), str(DEFAULT), "--caps", "CHWON"])
    assert result.exit_code == ExitCode.INPUT
    assert "did you mean CHOWN?" in result.output


def test_explain_gives_origin_and_reason(web_bundle: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", str(web_bundle), "--format", "json"])
    assert result.exit_code == 0, result.output
    entries = {e["syscall"]: e for e in json.loads(result.output)["syscalls"]}
    assert entries["bind"]["origins"] == ["set network-server"]
    assert entries["bind"]["reasons"] == ["binding the listen ports"]
    assert "set runtime-runc" in entries["capget"]["origins"]
    assert entries["clone"]["decision"].startswith("allow if arg0 & 0x7e020080 == 0x0")
    assert entries["clone3"]["decision"] == "ENOSYS"
    assert all(e["origins"] for e in entries.values())


def test_explain_says_what_the_x86_multiplexer_and_ioctl_filters_cannot_check(
    web_bundle: Path,
) -> None:
    result = CliRunner().invoke(cli, ["explain", str(web_bundle), "--format", "json"])
    entries = {e["syscall"]: e for e in json.loads(result.output)["syscalls"]}
    socketcall = entries["socketcall"]
    assert (
        "allow if arg0 == 0x1 (SYS_SOCKET (1): address families and types cannot be "
        in (socketcall["decision"])
    )
    assert "SYS_SOCKETPAIR" not in socketcall["decision"]  # web asks for no AF_UNIX
    assert "the call's own arguments are in memory" in socketcall["reasons"][0]
    assert entries["ioctl"]["decision"] == (
        "allow if any request but TIOCSTI and TIOCLINUX (terminal input, console), "
        "32 bits (34 argument rules)"
    )


def test_explain_text_lists_every_syscall(web_bundle: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", str(web_bundle / "seccomp.json")])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].endswith("default ERRNO(1)")
    assert "bind" in result.output
    assert "from set network-server: binding the listen ports" in result.output


def test_explain_of_a_foreign_profile_says_no_origin() -> None:
    result = CliRunner().invoke(cli, ["explain", str(DEFAULT), "--format", "json"])
    assert result.exit_code == 0
    entry = next(e for e in json.loads(result.output)["syscalls"] if e["syscall"] == "read")
    assert entry["origins"] == ["(no origin recorded)"]


def test_missing_profile_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["explain", str(tmp_path / "none.json")])
    assert result.exit_code == ExitCode.INPUT
    assert "no such file" in result.output


def test_names_from_a_foreign_profile_are_shown_literally(tmp_path: Path) -> None:
    path = tmp_path / "evil\x1b]0;title\x07.json"
    rules = [{"names": ["getpid\x1b[2J"], "action": "SCMP_ACT_ALLOW", "comment": "a\nb"}]
    doc = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"]}
    path.write_text(json.dumps({**doc, "syscalls": rules}))
    explained = CliRunner().invoke(cli, ["explain", str(path)])
    compared = CliRunner().invoke(cli, ["diff", str(path), str(DEFAULT), "--caps", "none"])
    for result in (explained, compared):
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output
        assert "\x07" not in result.output
    assert "evil\\x1b]0;title\\x07.json" in explained.output
    assert "getpid\\x1b[2J" in explained.output
    assert "comment: a\\nb" in explained.output
