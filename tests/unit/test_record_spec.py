"""From a recording to an annotated spec, and merging specs: golden files and round trips."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from harden.cli import cli
from harden.errors import ExitCode
from harden.kernel.syscalls import Arch
from harden.profile.loader import parse_spec
from harden.runtime.record.draft import Note, Origin, read_draft, trailing_comment
from harden.runtime.record.merge import merge_drafts
from harden.runtime.record.observe import Observations
from harden.runtime.record.paths import collapse, scratch_plan
from harden.runtime.record.recorder import Recording
from harden.runtime.record.render import render
from harden.runtime.record.tospec import draft_from_recording
from tests.conftest import DATA, Golden
from tests.unit.test_record_trace import observe


def recording(obs: Observations, user: tuple[int, int] = (0, 0)) -> Recording:
    return Recording(obs, "command /usr/sbin/server --port 8080", Arch.X86_64, "runc", user,
                     (), 3.0, (), None, 0)  # fmt: skip


def recorded_text(user: tuple[int, int] = (0, 0), *, strict: bool = False) -> str:
    return render(draft_from_recording(recording(observe(), user), name="server", strict=strict))


def test_recorded_spec_matches_golden(golden: Golden) -> None:
    golden("record/server.yaml", recorded_text())


def test_recorded_spec_is_a_valid_spec_with_what_was_seen() -> None:
    spec = parse_spec(recorded_text()).spec
    assert [(p.port, p.protocol) for p in spec.network.listen] == [(8080, "tcp")]
    assert spec.network.ipv6
    assert spec.network.unix
    assert spec.capability_names == ("CHOWN", "SETGID", "SETUID")
    assert "/var/cache/server" in spec.files.tmpfs
    assert spec.read_only_rootfs
    assert "socketcall" in spec.syscalls.arch_specific[Arch.X86]
    assert spec.syscalls.deny == ()  # nothing is denied that was not seen to fail
    assert "floor" in spec.syscalls.sets


def test_strict_denies_what_the_implied_sets_allow_but_was_never_made() -> None:
    spec = parse_spec(recorded_text(strict=True)).spec
    assert "accept" in spec.syscalls.deny  # implied by network-server, never made
    assert "getrusage" not in spec.syscalls.deny  # the floor stays whole


def test_a_non_root_recording_grants_no_capabilities() -> None:
    text = recorded_text(user=(101, 101))
    assert parse_spec(text).spec.capability_names == ()
    assert "so no capability was in effect; SETUID not granted" in text.replace("\n# ", " ")


def test_every_item_note_survives_a_round_trip() -> None:
    draft = draft_from_recording(recording(observe()), name="server")
    back = read_draft(render(draft), "server.yaml")
    for path, note in draft.notes.items():
        assert back.notes[path].origins == note.origins, path
    assert back.notes[("runtime",)].origins == (Origin.RUNTIME,)


def test_hand_written_items_are_user_items() -> None:
    text = recorded_text(strict=True).replace("  deny:\n", "  allow:\n    - madvise\n  deny:\n", 1)
    back = read_draft(text, "x.yaml")
    assert back.notes[("syscalls", "allow", "madvise")] == Note((Origin.USER,))
    assert back.notes[("syscalls", "deny", "accept")].origins == (Origin.RECORDED,)


def test_comments_are_found_outside_quotes_only() -> None:
    assert trailing_comment("  - /etc/passwd  # recorded: cat") == "recorded: cat"
    assert trailing_comment("description: 'a # b'") is None
    assert trailing_comment("# whole line") is None
    assert Note.parse("recorded, user: a; b") == Note((Origin.RECORDED, Origin.USER), "a; b")
    assert Note.parse("something else") == Note((Origin.USER,), "something else")


def test_merge_is_the_union_and_keeps_origins(
    golden: Golden,
) -> None:
    a = read_draft(recorded_text(strict=True), "a.yaml")
    b_text = (DATA / "record" / "hand-written.yaml").read_text()
    b = read_draft(b_text, "b.yaml")
    merged, warnings = merge_drafts([("a.yaml", a), ("b.yaml", b)])
    text = render(merged)
    golden("record/merged.yaml", text)
    spec = parse_spec(text).spec
    assert {p.port for p in spec.network.listen} == {8080, 9090}
    assert "NET_BIND_SERVICE" in spec.capability_names
    assert not spec.read_only_rootfs  # one input needs a writable root
    assert "uname" in spec.syscalls.deny
    assert "uname" not in spec.syscalls.allow
    assert any("user:" in w for w in warnings)
    assert "[b.yaml]" in text
    assert "[a.yaml]" in text


def test_recorded_denials_give_way_to_what_another_recording_made() -> None:
    a = read_draft(recorded_text(strict=True), "a.yaml")
    b = read_draft(recorded_text(strict=True), "b.yaml")
    b.data["syscalls"]["deny"].remove("accept")  # b's workload accepted connections
    merged, _ = merge_drafts([("a.yaml", a), ("b.yaml", b)])
    assert "accept" not in merged.data["syscalls"]["deny"]
    assert "fork" in merged.data["syscalls"]["deny"]  # neither made it


def test_paths_are_grouped_and_scratch_space_is_planned() -> None:
    many = {f"/usr/lib/mod/{i}.so": {"x"} for i in range(8)}
    many["/proc/123/status"] = {"x"}
    many["/sys/devices/pci0000:00/0000:00:1f.2/vendor"] = {"x"}
    many["/dev/shm/PostgreSQL.3381199092"] = {"x"}
    grouped = collapse(many)
    assert set(grouped) == {"/usr/lib/mod/*", "/proc/*/status", "/sys/devices/*/*/vendor",
                            "/dev/shm/PostgreSQL.*"}  # fmt: skip
    obs = Observations(writes={"/data/db": {"x"}, "/dev/null": {"x"}},
                       reads={"/data/seed": {"x"}})  # fmt: skip
    plan = scratch_plan(obs)
    assert not plan.read_only
    assert "would hide it" in plan.reason
    assert scratch_plan(obs, volumes=("/data",)).read_only


def test_spec_merge_cli(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text(recorded_text())
    b = DATA / "record" / "hand-written.yaml"
    out = tmp_path / "merged.yaml"
    result = CliRunner().invoke(cli, ["spec", "merge", str(a), str(b), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: user:" in result.output
    assert parse_spec(out.read_text()).spec.name == "server"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbogus: 1\n")
    result = CliRunner().invoke(cli, ["spec", "merge", str(a), str(bad), "-o", str(out)])
    assert result.exit_code == ExitCode.INPUT
    assert "bad.yaml:2" in result.output


def test_a_root_workload_without_limits_is_told_to_decide_user_and_resources() -> None:
    text = recorded_text()
    assert "# TO DECIDE: the workload ran as root: if it can run as another user, set user:" in text
    assert "# TO DECIDE: no resource limits were recorded" in text
    assert parse_spec(text).spec.user.uid == 0  # a note, not a change
    non_root = recorded_text(user=(101, 101))
    assert "ran as root" not in non_root
    assert "TO DECIDE: no resource limits" in non_root
