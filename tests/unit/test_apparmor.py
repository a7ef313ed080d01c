"""The AppArmor generator: quoting and escaping in one place, rules that follow the spec,
apparmor_parser (the real one) accepting every profile harden writes, and the parser
that reads profiles back (what verify's cross-layer checks see)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harden.layers.apparmor.build import build_apparmor
from harden.layers.apparmor.check import check_apparmor
from harden.layers.apparmor.model import ALL
from harden.layers.apparmor.parse import AppArmorSyntaxError, parse
from harden.layers.apparmor.render import PathProblem, render, spec_path_text
from harden.layers.caps.build import build_capabilities
from harden.layers.interface import Unexpressible
from harden.profile.loader import parse_spec
from harden.profile.spec import WorkloadSpec
from tests.conftest import EXAMPLE_SPECS, GOLDEN


def _profile(text: str) -> str:
    spec = parse_spec(text).spec
    return render(build_apparmor(spec, build_capabilities(spec)))


def _rules(profile: str) -> list[str]:
    """Rule lines without their comments."""
    return [
        line.split(",  #")[0].strip() + ","
        for line in profile.splitlines()
        if line.startswith("  ") and not line.strip().startswith("#")
    ]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/srv/www/**", "/srv/www/**"),
        ("/srv/my site/index.html", '"/srv/my site/index.html"'),
        ('/srv/say "hi"', '"/srv/say \\"hi\\""'),
        ("/srv/back\\slash", '"/srv/back\\\\slash"'),
        ("/srv/what?", '"/srv/what\\?"'),
        ("/srv/[literal]/{x,y}", '"/srv/\\[literal\\]/\\{x,y\\}"'),
        ("/srv/a,b#c", '"/srv/a,b#c"'),
        ("/srv/ünïcode", '"/srv/ünïcode"'),
    ],
)
def test_spec_paths_are_escaped_and_quoted(path: str, text: str) -> None:
    assert spec_path_text(path) == text


@pytest.mark.parametrize(
    "path",
    ["/srv/line\nbreak", "/srv/tab\tx", "/srv/nul\x00", "/srv/../etc", "/srv/./x", "/srv//x"],
)
def test_paths_apparmor_cannot_match_are_refused(path: str) -> None:
    with pytest.raises(PathProblem):
        spec_path_text(path)


def test_every_escaped_path_compiles_with_apparmor_parser() -> None:
    paths = [
        "/srv/my site/**",
        '/srv/say "hi"',
        "/srv/back\\slash",
        "/srv/what?",
        "/srv/[literal]/{x,y}",
        "/srv/a,b#c",
        "/srv/@{HOME}",
        "/srv/^caret",
    ]
    spec = WorkloadSpec.model_validate({"name": "x", "files": {"read": paths}})
    profile = render(build_apparmor(spec, build_capabilities(spec)))
    for path in paths:
        assert spec_path_text(path) + " r," in profile
    verdict = check_apparmor(profile)
    assert verdict.ok, verdict.detail


def test_a_newline_in_a_path_is_an_error_naming_the_field() -> None:
    spec = parse_spec('name: x\nfiles: {write: [/tmp/ok, "/tmp/bad\\nmount,"]}\n').spec
    with pytest.raises(Unexpressible) as info:
        build_apparmor(spec, build_capabilities(spec))
    assert info.value.field == "files.write[1]"
    assert "control character" in info.value.message


@pytest.mark.parametrize(
    ("section", "path"),
    [("write", "/sys/fs/cgroup/**"), ("write", "/proc/sys/kernel/core_pattern"),
     ("read", "/proc/kcore"), ("exec", "/sys/kernel/security/x")],
)  # fmt: skip
def test_paths_under_the_kernel_protections_are_refused(section: str, path: str) -> None:
    spec = parse_spec(f"name: x\nfiles: {{{section}: [{path}]}}\n").spec
    with pytest.raises(Unexpressible, match="always denied") as info:
        build_apparmor(spec, build_capabilities(spec))
    assert info.value.field == f"files.{section}[0]"


def test_a_reason_cannot_inject_rules_through_a_comment() -> None:
    profile = _profile(
        "name: x\ncapabilities:\n"
        '  - {name: NET_BIND_SERVICE, reason: "port 80\\n  capability sys_admin,\\n  mount,"}\n'
    )
    rules = _rules(profile)
    assert "capability net_bind_service," in rules
    assert "capability sys_admin," not in rules
    assert "mount," not in rules
    assert check_apparmor(profile).ok


def test_capabilities_are_exactly_the_whitelist() -> None:
    profile = _profile(
        "name: x\ncapabilities: [{name: NET_BIND_SERVICE, reason: port 80}, "
        "{name: cap_chown, reason: fixes ownership}]\n"
    )
    caps = [r for r in _rules(profile) if r.startswith("capability")]
    assert caps == ["capability chown,", "capability net_bind_service,"]
    assert not any(r.startswith("capability") for r in _rules(_profile("name: x\n")))


def test_network_follows_the_spec_and_denies_alg_packet_and_raw() -> None:
    web = _rules(_profile("name: x\nnetwork: {listen: [{port: 8080}], ipv6: false}\n"))
    assert "network inet stream," in web
    assert not any("inet6" in r and not r.startswith("deny") for r in web)
    assert not any(r.startswith("network inet dgram") for r in web)  # no UDP, no outbound
    for denied in ("deny network alg,", "deny network packet,", "deny network inet raw,"):
        assert denied in web
    asked = _rules(
        _profile(
            "name: x\ncapabilities: [{name: NET_RAW, reason: ping}]\n"
            "network: {outbound: [{port: 53, protocol: udp}], raw_sockets: true, "
            "families: [alg, packet]}\n"
        )
    )
    assert {"network inet raw,", "network inet6 raw,", "network alg,", "network packet,"} <= set(
        asked
    )
    assert "network inet dgram," in asked
    assert not any(r.startswith("deny network") for r in asked)
    assert not any(r.startswith("network") for r in _rules(_profile("name: x\n")))


def test_signals_and_ptrace_stay_within_the_profile() -> None:
    rules = _rules(_profile("name: web\n"))
    peers = [r for r in rules if r.startswith(("signal", "ptrace"))]
    assert "signal (send, receive) peer=harden-web," in peers
    assert all("send" not in r for r in peers if "peer=harden-web" not in r)
    assert [r for r in peers if r.startswith("ptrace")] == [
        "ptrace (read, readby) peer=harden-web,"
    ]
    traced = _rules(_profile("name: web\ncapabilities: [{name: SYS_PTRACE, reason: debugger}]\n"))
    assert "ptrace (read, readby, trace, tracedby) peer=harden-web," in traced


def test_mount_is_denied_unless_sys_admin_is_granted() -> None:
    plain = _rules(_profile("name: x\n"))
    assert {"deny mount,", "deny umount,", "deny pivot_root,"} <= set(plain)
    admin = _rules(_profile("name: x\ncapabilities: [{name: SYS_ADMIN, reason: mounts fuse}]\n"))
    assert {"mount,", "umount,", "deny pivot_root,"} <= set(admin)


def test_kernel_interface_protections_are_always_there() -> None:
    rules = _rules(_profile("name: x\nfiles: {write: ['/**']}\n"))
    assert "deny /proc/sys/** wl," in rules
    assert "deny /proc/sysrq-trigger rwl," in rules
    assert "deny /proc/kcore rwl," in rules
    assert "deny /sys/** wl," in rules


@pytest.mark.parametrize("name", sorted(EXAMPLE_SPECS))
def test_apparmor_parser_accepts_every_example(name: str) -> None:
    from harden.profile.loader import load_spec

    spec = load_spec(EXAMPLE_SPECS[name]).spec
    verdict = check_apparmor(render(build_apparmor(spec, build_capabilities(spec))))
    assert verdict.ok, verdict.detail
    assert "binary policy" in verdict.detail


def test_apparmor_parser_really_rejects_a_broken_profile() -> None:
    broken = _profile("name: x\n").replace("deny network alg,", "network nonsense,")
    verdict = check_apparmor(broken)
    assert not verdict.ok
    assert "network" in verdict.detail.lower()


@pytest.mark.parametrize(
    "path", sorted((GOLDEN / "bundles").glob("*/apparmor.profile")), ids=lambda p: p.parent.name
)
def test_parse_then_render_gives_every_golden_profile_back(path: Path) -> None:
    text = path.read_text()
    assert render(parse(text)) == text


def test_parse_reads_escaped_and_quoted_paths_back_exactly() -> None:
    paths = ['/srv/say "hi"', "/srv/back\\slash", "/srv/[literal]/{x,y}", "/srv/a,b#c", "/srv/a  b"]
    spec = WorkloadSpec.model_validate({"name": "x", "files": {"read": paths}})
    built = build_apparmor(spec, build_capabilities(spec))
    parsed = parse(render(built))
    assert render(parsed) == render(built)
    assert {r.path.text for r in parsed.files} >= set(paths)


def test_parse_reads_hand_edits_as_apparmor_does() -> None:
    text = _profile(
        "name: web\ncapabilities: [{name: NET_BIND_SERVICE, reason: port 80}]\n"
        "network: {listen: [{port: 80}]}\n"
    )
    edited = text.replace("  deny mount,", "  mount fstype=tmpfs\n    -> /mnt/,").replace(
        "  capability net_bind_service,",
        "  audit deny capability,\n  allow capability chown setuid,\n  dbus send bus=session,",
    )
    profile = parse(edited)
    assert profile.capability_names() == {"CHOWN", "SETUID"}
    assert profile.capability_names(deny=True) == {ALL}
    assert not profile.allows_capability("CHOWN")  # a bare deny wins over every allow
    assert [r.options for r in profile.mounts if r.kind == "mount"] == ["fstype=tmpfs -> /mnt/"]
    assert profile.allows_mount
    assert [r.text for r in profile.other] == ["dbus send bus=session"]
    assert profile.allows_network("inet", "stream")
    assert not profile.allows_network("inet", "raw")  # deny network inet raw
    assert not profile.allows_network("packet")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("# only a comment\n", 1, "no profile"),
        ("profile x {\n  capability chown\n}\n", 3, "does not end with ','"),
        ("profile x {\n  capability chown,\n", 2, "not closed"),
        ('profile x {\n  "/srv/a r,\n}\n', 3, "quoted string"),
        ("}\nprofile x {\n}\n", 1, "closes no block"),
    ],
)
def test_parse_refuses_text_that_is_no_profile_naming_the_line(
    text: str, line: int, message: str
) -> None:
    with pytest.raises(AppArmorSyntaxError, match=message) as info:
        parse(text)
    assert info.value.line == line
