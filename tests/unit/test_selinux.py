"""The SELinux generator, compiled for real with secilc against Debian's refpolicy, and
the compiled policy queried with sesearch to prove what the workload domain may do."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harden.layers.caps.build import build_capabilities
from harden.layers.interface import Unexpressible
from harden.layers.selinux.base import PortLabel, SelinuxFacts, facts_from_cil
from harden.layers.selinux.build import build_selinux
from harden.layers.selinux.check import check_cil
from harden.layers.selinux.model import CilModule
from harden.layers.selinux.render import render
from harden.profile.loader import load_spec, parse_spec
from harden.profile.lsmdata import selinux_blocks
from tests.conftest import DATA, EXAMPLE_SPECS

READ_ONLY = "name: readonly\nfiles: {read: [/srv/**]}\n"
SYSTEM_PYTHON = "/usr/bin/python3"  # setools is a Debian package of the system Python


def _module(text: str, facts: SelinuxFacts) -> CilModule:
    spec = parse_spec(text).spec
    return build_selinux(spec, build_capabilities(spec), facts)


def _compile(base: Any, out: Path, texts: dict[str, str]) -> None:
    for name, text in texts.items():
        (out / name).write_text(text)
    cmd = ["secilc", "-o", str(out / "policy"), "-f", str(out / "fc"), *map(str, base.files)]
    cmd += [str(out / n) for n in texts]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def policy(selinux_base: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example module, the blocks and a read-only spec compiled into one policy."""
    out = tmp_path_factory.mktemp("policy")
    texts = {"harden-blocks.cil": selinux_blocks().text}
    for path in EXAMPLE_SPECS.values():
        spec = load_spec(path).spec
        module = build_selinux(spec, build_capabilities(spec), selinux_base.facts)
        texts[module.file_name] = render(module, selinux_base.facts.source)
    readonly = _module(READ_ONLY, selinux_base.facts)
    texts[readonly.file_name] = render(readonly)
    _compile(selinux_base, out, texts)
    return out / "policy"


Question = tuple[str, str, str, str]  # source type, target type, class, permission


def allowed(policy: Path, *questions: Question) -> list[bool]:
    """Whether the compiled policy grants each question through some allow rule
    (attributes expanded), answered by setools in one system-Python process."""
    if not (Path(SYSTEM_PYTHON).is_file() and shutil.which("sesearch")):
        pytest.fail("setools (python3-setools) is needed; make test installs it")
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(DATA / "selinux" / "query.py"), str(policy)],
        input=json.dumps(questions),
        capture_output=True,
        text=True,
        check=True,
    )
    answers: list[bool] = json.loads(proc.stdout)
    return answers


def test_base_facts_come_from_the_real_refpolicy(selinux_base: Any) -> None:
    facts = selinux_base.facts
    assert "refpolicy" in facts.source
    assert len(selinux_base.files) > 300
    assert facts.port_type("tcp", 8080) == "http_cache_port_t"  # a single port beats a range
    assert facts.port_type("tcp", 5432) == "postgresql_port_t"
    assert facts.port_type("tcp", 18080) == "unreserved_port_t"
    assert {"mac_override", "sys_module"} <= facts.forbidden_caps  # neverallow for domains
    assert facts.has("capability2", "perfmon")


def test_facts_parser_reads_ranges_and_attribute_expressions() -> None:
    cil = b"""
(portcon tcp (1024 65535) (system_u object_r unreserved_port_t ((s0) (s0))))
(portcon tcp 8080 (system_u object_r http_cache_port_t ((s0) (s0))))
(common cap (chown sys_module))
(class capability ())
(classcommon capability cap)
(typeattributeset base_typeattr_1 (not (can_load_kernmodule )))
(typeattributeset base_typeattr_2 (and (domain ) (not (special_t ))))
(typeattributeset base_typeattr_3 (and (domain ) (init_t )))
(neverallow base_typeattr_1 self (capability (sys_module)))
(neverallow base_typeattr_2 self (capability (chown)))
(neverallow base_typeattr_3 self (capability (setuid)))
"""
    facts = facts_from_cil([cil], "test")
    assert facts.port_type("tcp", 8080) == "http_cache_port_t"
    assert facts.port_type("tcp", 8081) == "unreserved_port_t"
    assert facts.port_type("udp", 8080) is None
    assert facts.class_perms["capability"] == {"chown", "sys_module"}
    assert facts.forbidden_caps == {"sys_module", "chown"}  # not setuid: init_t only


def test_listen_ports_bind_only_their_own_type(policy: Path) -> None:
    web = "harden-web.process"
    assert allowed(
        policy,
        (web, "http_cache_port_t", "tcp_socket", "name_bind"),
        (web, "node_t", "tcp_socket", "node_bind"),
        (web, "http_port_t", "tcp_socket", "name_bind"),
        (web, "unreserved_port_t", "tcp_socket", "name_bind"),
        (web, "postgresql_port_t", "tcp_socket", "name_connect"),
        ("harden-db.process", "postgresql_port_t", "tcp_socket", "name_bind"),
    ) == [True, True, False, False, False, True]


def test_capabilities_are_exactly_the_whitelist(policy: Path) -> None:
    every, web = "harden-everything.process", "harden-web.process"
    assert allowed(
        policy,
        (every, every, "capability", "net_bind_service"),
        (every, every, "capability", "net_raw"),
        (every, every, "cap_userns", "net_raw"),  # it runs in a user namespace
        (every, every, "capability", "sys_admin"),
        (every, every, "capability", "chown"),
        *(
            (web, web, "capability", p)
            for p in ("net_bind_service", "chown", "setuid", "sys_admin")
        ),
    ) == [True, True, True, False, False, False, False, False, False]


def test_file_access_is_per_mount_and_as_narrow_as_the_spec(policy: Path) -> None:
    ro, content = "harden-readonly.process", "harden-readonly.content"
    web = "harden-web.process"
    assert allowed(
        policy,
        (ro, content, "file", "read"),
        (ro, content, "file", "entrypoint"),
        (ro, content, "file", "write"),  # no files.write, no tmpfs
        (ro, content, "file", "execute_no_trans"),  # no files.exec
        (ro, "harden-web.content", "file", "read"),  # not another workload's files
        (web, "harden-web.content", "file", "write"),  # tmpfs /tmp
        (web, "harden-web.content", "file", "execute_no_trans"),
        (web, "shadow_t", "file", "read"),
        (web, "proc_t", "file", "write"),
    ) == [True, True, False, False, False, True, True, False, False]


def test_network_classes_follow_the_spec(policy: Path) -> None:
    batch, db = "harden-batch.process", "harden-db.process"
    web, every = "harden-web.process", "harden-everything.process"
    assert allowed(
        policy,
        (batch, batch, "tcp_socket", "create"),
        (batch, batch, "udp_socket", "create"),
        (db, db, "unix_stream_socket", "create"),
        (web, web, "rawip_socket", "create"),
        (every, every, "vsock_socket", "create"),
        (every, every, "alg_socket", "create"),
    ) == [False, False, True, False, True, False]


def test_engine_rules_resolve_where_the_engine_types_exist(
    selinux_base: Any, tmp_path: Path
) -> None:
    """On refpolicy the optional engine blocks are skipped; with the engine's type names
    present (as on Fedora) they compile and apply."""
    module = _module("name: web\n", selinux_base.facts)
    stub = (DATA / "selinux" / "engine-types-stub.cil").read_text()
    texts = {"harden-blocks.cil": selinux_blocks().text, "stub.cil": stub}
    texts[module.file_name] = render(module)
    _compile(selinux_base, tmp_path, texts)
    web = "harden-web.process"
    assert allowed(
        tmp_path / "policy",
        ("container_runtime_t", web, "process", "transition"),
        (web, "container_file_t", "file", "read"),
        (web, "container_file_t", "file", "write"),
    ) == [True, True, False]


def test_secilc_really_fails_on_an_unknown_type(selinux_base: Any) -> None:
    module = render(_module("name: web\n", selinux_base.facts))
    broken = module.replace("(blockinherit harden_container)", "(blockinherit harden_container)\n"
                            "  (allow process no_such_type_t (file (read)))")  # fmt: skip
    verdict = check_cil({"harden-blocks.cil": selinux_blocks().text, "w.cil": broken}, selinux_base)
    assert not verdict.ok
    assert "w.cil" in verdict.detail


def test_a_capability_the_base_forbids_every_domain_is_refused(selinux_base: Any) -> None:
    text = (
        "name: x\ncapabilities:\n  - {name: CHOWN, reason: fixes ownership}\n"
        "  - {name: MAC_OVERRIDE, reason: wants it all}\n"
    )
    with pytest.raises(Unexpressible) as info:
        _module(text, selinux_base.facts)
    assert info.value.field == "capabilities[1].name"
    assert "neverallow" in info.value.message


def test_a_capability_an_older_base_lacks_is_refused() -> None:
    old = SelinuxFacts(
        "an older policy",
        (PortLabel("tcp", 1, 65535, "port_t"),),
        {"capability": frozenset({"chown"}), "capability2": frozenset({"syslog"})},
        frozenset(),
    )
    with pytest.raises(Unexpressible) as info:
        _module("name: x\ncapabilities: [{name: PERFMON, reason: profiling}]\n", old)
    assert info.value.field == "capabilities[0].name"
    assert "capability2 class has no perfmon" in info.value.message


def test_a_port_the_base_does_not_label_is_refused() -> None:
    bare = SelinuxFacts("no ports", (), {}, frozenset())
    with pytest.raises(Unexpressible) as info:
        _module("name: x\nnetwork: {listen: [{port: 9000}]}\n", bare)
    assert info.value.field == "network.listen[0]"


def test_a_reason_cannot_inject_cil(selinux_base: Any) -> None:
    module = _module(
        "name: x\ncapabilities:\n"
        '  - {name: CHOWN, reason: "x\\n(allow process self (capability (sys_admin)))"}\n',
        selinux_base.facts,
    )
    text = render(module, "base\n(allow process shadow_t (file (read)))")
    assert "sys_admin" not in "".join(
        line for line in text.splitlines() if not line.lstrip().startswith(";")
    )
    assert "shadow_t" not in "".join(
        line for line in text.splitlines() if not line.lstrip().startswith(";")
    )
