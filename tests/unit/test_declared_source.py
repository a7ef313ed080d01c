"""The declared layer from Docker and Podman inspect JSON (captured output as fixtures).

The same code reads the live engine in the integration tests; here the point is the
parsing: every field, odd types, named users, shared namespaces followed transitively.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harden.audit.sources.docker import inspect as inputs
from harden.audit.sources.docker.declared import collect
from harden.audit.sources.docker.fields import EngineDefaults, security_opts
from harden.audit.state.model import GapKind, TargetState
from harden.errors import FileProblems
from harden.progress import no_progress
from tests.conftest import DATA

INSPECT = DATA / "audit" / "inspect"
DOCKER = json.loads((INSPECT / "docker-20.10.json").read_text())
PODMAN = json.loads((INSPECT / "podman-4.json").read_text())
DEFAULTS = EngineDefaults(userns_remap=False, cgroupns_mode="host", apparmor=False, selinux=False)


def _named(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(o for o in objects if o["Name"].lstrip("/") == name)


def _facts(raw: dict[str, Any], defaults: EngineDefaults = DEFAULTS) -> dict[str, Any]:
    return {path: fact.value for path, fact in collect(raw, "engine", defaults).facts.items()}


def test_docker_container_with_many_risks() -> None:
    facts = _facts(_named(DOCKER, "harden-test-explore2"))
    assert facts["caps.added"] == ["NET_ADMIN"]
    assert facts["caps.dropped"] == ["ALL"]
    assert facts["caps.bounding"] == ["NET_ADMIN"]
    assert facts["user.uid"] == 1000
    assert facts["no_new_privs"] is True
    assert facts["seccomp.profile"] == "default"
    assert facts["rootfs.read_only"] is True
    assert (facts["resources.memory"], facts["resources.pids"]) == (64 << 20, 50)
    assert facts["resources.cpu_millis"] == 500
    assert facts["devices.passed"] == [
        {"host_path": "/dev/fuse", "container_path": "/dev/fuse", "permissions": "rwm"}
    ]
    assert {(m["source"], m["propagation"]) for m in facts["mounts"]} == {
        ("/etc", "private"),
        ("/var/run/docker.sock", "private"),
        ("/tmp/harden-shared", "shared"),
    }
    assert "/proc/kcore" in facts["masked_paths"]


def test_docker_privileged_equivalent_container() -> None:
    facts = _facts(_named(DOCKER, "harden-test-explore3"))
    assert "SYS_ADMIN" in facts["caps.bounding"]
    assert "SYS_RESOURCE" not in facts["caps.bounding"]
    assert (facts["seccomp.mode"], facts["seccomp.profile"]) == ("disabled", "unconfined")
    assert [facts[f"namespaces.{k}"] for k in ("pid", "ipc", "uts", "net")] == [
        "host",
        "host",
        "host",
        "private",
    ]
    assert facts["masked_paths"] == []
    assert facts["privileged"] is False


def test_a_custom_profile_that_allows_everything_is_recognised() -> None:
    facts = _facts(_named(DOCKER, "harden-test-explore4"))
    assert (facts["seccomp.profile"], facts["seccomp.mode"]) == ("custom", "filter")
    assert facts["seccomp.allows_all"] is True


def test_podman_inspect_output() -> None:
    web = _facts(_named(PODMAN, "web"))
    assert web["runtime"] == "podman"
    assert "NET_RAW" not in web["caps.bounding"]  # podman reports what it computed
    assert web["user.uid"] == 101
    assert web["resources.cgroup_parent"] == ""  # podman's own default parent
    assert web["healthcheck.configured"] is True
    assert web["network.ports"] == [
        {"container_port": 80, "protocol": "tcp", "host_ip": "127.0.0.1", "host_port": 8080}
    ]
    debug = _facts(_named(PODMAN, "debug"))
    assert debug["privileged"] is True
    assert debug["devices.all_allowed"] is True
    assert debug["namespaces.cgroup"] == "host"
    assert debug["selinux.label"] == "disabled"


def test_a_field_of_the_wrong_type_fails_only_its_facts() -> None:
    raw = copy.deepcopy(_named(DOCKER, "harden-test-explore2"))
    raw["HostConfig"]["CapAdd"] = "NET_ADMIN"
    layer = collect(raw, "engine", DEFAULTS)
    gap = layer.gaps["declared.caps.bounding"]
    assert gap.kind is GapKind.FAILED
    assert "HostConfig.CapAdd: has an unexpected type (str)" in gap.reason
    assert layer.facts["resources.memory"].value == 64 << 20


def test_a_named_user_has_no_uid_offline() -> None:
    raw = copy.deepcopy(_named(DOCKER, "harden-test-explore1"))
    raw["Config"]["User"] = "www-data"
    layer = collect(raw, "x.json[0]", DEFAULTS)
    assert layer.gaps["declared.user.uid"].kind is GapKind.UNAVAILABLE
    assert layer.gaps["declared.caps.effective"].kind is GapKind.UNAVAILABLE


def test_security_options_in_every_spelling() -> None:
    opts = security_opts(
        ["seccomp:unconfined", "no-new-privileges", "label=disable", "label=type:spc_t"]
    )
    assert opts == {
        "seccomp": "unconfined",
        "no-new-privileges": "true",
        "label": "disable,type:spc_t",
    }


def _pair(tmp_path: Path, modes: dict[str, str]) -> dict[str, TargetState]:
    objects = []
    for name, mode in modes.items():
        raw = copy.deepcopy(_named(DOCKER, "harden-test-explore1"))
        raw["Name"], raw["Id"] = f"/{name}", name * 8
        raw["HostConfig"]["PidMode"] = mode
        objects.append(raw)
    path = tmp_path / "inspect.json"
    path.write_text(json.dumps(objects))
    return {t.name: t for t in inputs.InspectSource((path,)).plan(no_progress)}


def test_container_namespaces_are_followed_transitively(tmp_path: Path) -> None:
    targets = _pair(
        tmp_path,
        {
            "aaaa": "host",
            "bbbb": "container:aaaa",
            "cccc": "container:bbbb",
            "dddd": "",
            "eeee": "container:dddd",
        },
    )
    pid = {
        name: t.declared["namespaces.pid"].value
        for name, t in targets.items()
        if "namespaces.pid" in t.declared
    }
    assert pid == {
        "aaaa": "host",
        "bbbb": "host",
        "cccc": "host",
        "dddd": "private",
        "eeee": "container:dddd",
    }
    assert "-> bbbb -> aaaa" in targets["cccc"].declared["namespaces.pid"].origin


def test_an_unknown_or_looping_reference_is_a_failed_fact(tmp_path: Path) -> None:
    targets = _pair(
        tmp_path, {"aaaa": "container:zzzz", "bbbb": "container:cccc", "cccc": "container:bbbb"}
    )
    assert "not in this scan" in targets["aaaa"].gaps["declared.namespaces.pid"].reason
    assert "loop" in targets["bbbb"].gaps["declared.namespaces.pid"].reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"Id": "x"', "not valid JSON"),
        ('["a string"]', "[0]: expected an inspect object"),
        ('[{"Id": "x", "Config": {}}]', "no Id or HostConfig"),
    ],
)
def test_a_bad_inspect_file_is_an_input_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(FileProblems) as info:
        inputs.InspectSource((path,)).plan(no_progress)
    assert str(path) in info.value.diagnostics()
    assert message in info.value.diagnostics()
