"""The risky host: real containers in the real engine, each with one known risk.

Every risky container is the hardened baseline with exactly one thing changed, so the
audit must report exactly that risk's rules for it, and nothing for the hardened ones.
Drift is produced for real after start: a root process exec'd into a non-root
container, a memory limit removed in the cgroup, a host path mounted into the running
container's mount namespace.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harden.audit.report import Report, TargetResult
from harden.audit.rules.model import Status
from harden.audit.run import AuditRequest, audit
from harden.audit.state.model import SourceKind
from harden.resources import data_dir
from tests.conftest import PREFIX

pytestmark = [pytest.mark.docker, pytest.mark.root]

ALLOW_ALL = json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []})
BASE: dict[str, Any] = {
    "network_mode": "none",
    "read_only": True,
    "tmpfs": {"/tmp": ""},
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "user": "1000:1000",
    "mem_limit": "64m",
    "pids_limit": 64,
    "nano_cpus": 500_000_000,
    "cgroupns": "private",
    "healthcheck": {"test": ["CMD-SHELL", "true"], "interval": 3600 * 10**9},
}


def _without(*keys: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda base: {k: v for k, v in base.items() if k not in keys}


def _with(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda base: {**base, **changes}


def _opts(*extra: str, nnp: bool = True) -> list[str]:
    return [*(["no-new-privileges"] if nnp else []), *extra]


# name -> (how it differs from the hardened baseline, the rules that must fail, nothing else)
RISKS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], set[str]]] = {
    "hardened-a": (_with(), set()),
    "hardened-b": (_with(user="101:101", pids_limit=16), set()),
    "cap-sys-admin": (_with(cap_add=["SYS_ADMIN"]), {"CAP-001", "CAP-002", "CAP-003"}),
    "cap-net-raw": (_with(cap_add=["NET_RAW"]), {"CAP-002", "CAP-003"}),
    "pid-host": (_with(pid_mode="host"), {"NS-002"}),
    "ipc-host": (_with(ipc_mode="host"), {"NS-003"}),
    "uts-host": (_with(uts_mode="host"), {"NS-004"}),
    "cgroupns-host": (_with(cgroupns="host"), {"NS-006"}),
    "seccomp-off": (_with(security_opt=_opts("seccomp=unconfined")), {"SEC-001"}),
    "seccomp-allow-all": (
        _with(security_opt=_opts(f"seccomp={ALLOW_ALL}")),
        {"SEC-002", "DRIFT-002"},
    ),
    "no-nnp": (_with(security_opt=_opts(nnp=False)), {"SEC-003"}),
    "unmasked": (_with(), {"MNT-005"}),  # MaskedPaths/ReadonlyPaths emptied: see _start
    "engine-socket": (
        _with(volumes=["/var/run/docker.sock:/var/run/docker.sock:ro"]),
        {"MNT-002"},
    ),
    "host-etc": (_with(volumes=["/etc:/host-etc:ro"]), {"MNT-001"}),
    "writable-root": (_without("read_only"), {"MNT-004"}),
    "device": (_with(devices=["/dev/fuse:/dev/fuse:rwm"]), {"DEV-001"}),
    "no-memory-limit": (_without("mem_limit"), {"RES-001"}),
    "no-pids-limit": (_without("pids_limit"), {"RES-003"}),
    "no-cpu-limit": (_without("nano_cpus"), {"RES-002"}),
    "root-user": (_without("user"), {"USR-001"}),
    "no-healthcheck": (_without("healthcheck"), {"RUN-002"}),
    "restart-always": (_with(restart_policy={"Name": "always"}), {"RUN-001"}),
    "unsafe-sysctl": (_with(sysctls={"kernel.msgmax": "65536"}), {"RUN-007"}),
    "privileged-equivalent": (
        _with(cap_add=["ALL"], cap_drop=["SYS_RESOURCE"], security_opt=_opts("seccomp=unconfined")),
        {"CAP-001", "CAP-002", "CAP-003", "SEC-001", "KRN-001"},
    ),
    "shared-propagation": (_with(), {"MNT-003"}),  # the mount is added by the fixture
    "drift-exec-root": (_with(), {"DRIFT-005"}),
    "drift-memory": (_with(), {"DRIFT-006", "RES-001"}),
    "drift-mount": (_with(), {"DRIFT-010"}),
}


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A host directory with shared mount propagation (needed for rshared binds)."""
    path = tmp_path_factory.mktemp("shared")
    subprocess.run(["mount", "-t", "tmpfs", "harden-test", str(path)], check=True)
    subprocess.run(["mount", "--make-shared", str(path)], check=True)
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


def _start(docker: Any, image: str, name: str, scenario: str, kwargs: dict[str, Any]) -> Any:
    if scenario != "unmasked":
        return docker.containers.run(image, ["sleep", "3600"], name=name, detach=True, **kwargs)
    # `--security-opt systempaths=unconfined` is docker CLI sugar for these two API fields
    host_config = docker.api.create_host_config(
        **{k: v for k, v in kwargs.items() if k not in ("user", "healthcheck")}
    )
    host_config.update(MaskedPaths=[], ReadonlyPaths=[])
    created = docker.api.create_container(
        image,
        ["sleep", "3600"],
        name=name,
        user=kwargs["user"],
        healthcheck=kwargs["healthcheck"],
        host_config=host_config,
    )
    docker.api.start(created["Id"])
    return docker.containers.get(created["Id"])


def _exec(docker: Any, cid: str, argv: list[str], user: str) -> None:
    exec_id = docker.api.exec_create(cid, argv, user=user)["Id"]
    docker.api.exec_start(exec_id, detach=True)


def _tamper(docker: Any, name: str, container: Any) -> None:
    """Make declared and effective disagree, the way an intruder or a bad hook would."""
    container.reload()
    pid = container.attrs["State"]["Pid"]
    if name == "drift-exec-root":
        _exec(docker, container.id, ["sleep", "600"], user="0")
    elif name == "drift-memory":
        v1 = Path(f"/sys/fs/cgroup/memory/docker/{container.id}")
        if v1.exists():  # the swap limit must go first: it may never be below the memory one
            (v1 / "memory.memsw.limit_in_bytes").write_text("-1\n")
            (v1 / "memory.limit_in_bytes").write_text("-1\n")
        else:
            v2 = Path(f"/sys/fs/cgroup/system.slice/docker-{container.id}.scope")
            (v2 / "memory.max").write_text("max\n")
    elif name == "drift-mount":
        enter = ["nsenter", "-t", str(pid), "-m", "--"]
        subprocess.run([*enter, "mkdir", "-p", "/tmp/extra"], check=True)
        subprocess.run([*enter, "mount", "--bind", "/etc", "/tmp/extra"], check=True)


@pytest.fixture(scope="module")
def risky_host(docker: Any, test_image: str, shared_dir: Path) -> Iterator[dict[str, str]]:
    """Every container of RISKS, started for real; yields scenario -> container name."""
    run = f"{PREFIX}{uuid.uuid4().hex[:6]}-"
    started: dict[str, Any] = {}
    try:
        for scenario, (change, _expected) in RISKS.items():
            kwargs = change(dict(BASE))
            if scenario == "shared-propagation":
                kwargs["mounts"] = [
                    {
                        "Type": "bind",
                        "Source": str(shared_dir),
                        "Target": "/shared",
                        "BindOptions": {"Propagation": "rshared"},
                    }
                ]
            started[scenario] = _start(docker, test_image, run + scenario, scenario, kwargs)
        for scenario, container in started.items():
            _tamper(docker, scenario, container)
        yield {scenario: run + scenario for scenario in started}
    finally:
        for container in started.values():
            container.remove(force=True)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def engine_report(risky_host: dict[str, str]) -> Report:
    """The audit as a big host gets it: half the containers judged in a forked child."""
    names = tuple(risky_host.values())
    return audit(AuditRequest(_now(), SourceKind.ENGINE, names=names, parallel_from=2))


def _failing(target: TargetResult) -> set[str]:
    return {f.rule.id for f in target.findings if f.status is Status.FAIL}


@pytest.mark.parametrize("scenario", sorted(RISKS))
def test_each_risk_is_found_and_nothing_else(
    scenario: str, risky_host: dict[str, str], engine_report: Report
) -> None:
    target = next(t for t in engine_report.targets if t.name == risky_host[scenario])
    assert _failing(target) == RISKS[scenario][1], [
        (f.rule.id, f.detail) for f in target.findings if f.status is Status.FAIL
    ]
    assert not [f for f in target.findings if f.status is Status.ERROR], "everything is readable"


def test_the_risky_host_has_at_least_twenty_containers_and_worst_comes_first(
    engine_report: Report,
) -> None:
    assert len(engine_report.targets) >= 20
    assert engine_report.targets[0].worst is not None
    assert engine_report.targets[0].worst.value == "critical"
    assert engine_report.complete


def test_drift_is_reported_with_its_evidence(
    risky_host: dict[str, str], engine_report: Report
) -> None:
    by_name = {t.name: t for t in engine_report.targets}
    root = next(
        f for f in by_name[risky_host["drift-exec-root"]].findings if f.rule.id == "DRIFT-005"
    )
    assert any(str(d).startswith("sleep (pid ") for d in root.detail)
    mount = next(f for f in by_name[risky_host["drift-mount"]].findings if f.rule.id == "DRIFT-010")
    assert mount.detail == [next(iter(mount.detail))]
    assert mount.detail[0].endswith(" -> /tmp/extra")
    memory = next(
        f for f in by_name[risky_host["drift-memory"]].findings if f.rule.id == "DRIFT-006"
    )
    origins = {e.fact: e.origin for e in memory.evidence}
    assert origins["declared.resources.memory"] == "engine: HostConfig.Memory"
    assert "memory" in origins["effective.resources.memory"]


def test_one_process_and_a_forked_child_judge_alike(
    risky_host: dict[str, str], engine_report: Report
) -> None:
    names = tuple(risky_host.values())
    alone = audit(AuditRequest(_now(), SourceKind.ENGINE, names=names, parallel_from=10**6))

    def seen(report: Report) -> list[tuple[str, list[tuple[str, str, str, Any]]]]:
        return [
            (t.name, [(f.rule.id, f.status.value, f.message, f.detail) for f in t.findings])
            for t in report.targets
        ]

    assert seen(alone) == seen(engine_report)
    assert [t.score for t in alone.targets] == [t.score for t in engine_report.targets]


def test_proc_source_sees_the_kernel_truth_without_the_engine(
    risky_host: dict[str, str], engine_report: Report, docker: Any
) -> None:
    report = audit(AuditRequest(_now(), SourceKind.PROC))
    ids = {docker.containers.get(name).id: scenario for scenario, name in risky_host.items()}
    seen = {ids[t.id]: t for t in report.targets if t.id in ids}
    assert set(seen) == set(RISKS)
    for scenario in ("hardened-a", "hardened-b"):
        assert _failing(seen[scenario]) == set(), scenario
    assert {"CAP-001", "KRN-001", "SEC-001"} <= _failing(seen["privileged-equivalent"])
    assert _failing(seen["pid-host"]) == {"NS-002"}
    assert _failing(seen["drift-exec-root"]) == {"DRIFT-005"}
    assert _failing(seen["engine-socket"]) == {"MNT-002"}
    assert _failing(seen["device"]) == {"DEV-001"}
    skipped = {f.rule.id for f in seen["hardened-a"].findings if f.status is Status.SKIPPED}
    assert {"PRIV-001", "CAP-002", "RUN-002"} <= skipped  # config-only rules: not guessed
    host = next(t for t in report.targets if t.kind.value == "host")
    assert {f.rule.id for f in host.findings if f.status is Status.FAIL} >= {"DMN-001"}


def test_saved_inspect_output_gives_the_declared_findings(
    risky_host: dict[str, str], tmp_path: Path
) -> None:
    saved = tmp_path / "inspect.json"
    saved.write_text(
        subprocess.run(
            ["docker", "inspect", *risky_host.values()], capture_output=True, text=True, check=True
        ).stdout
    )
    report = audit(AuditRequest(_now(), SourceKind.INSPECT, inputs=(saved,)))
    by_name = {t.name: t for t in report.targets}
    assert _failing(by_name[risky_host["hardened-a"]]) == set()
    assert _failing(by_name[risky_host["cap-sys-admin"]]) == {"CAP-001", "CAP-002", "CAP-003"}
    assert _failing(by_name[risky_host["seccomp-allow-all"]]) == {"SEC-002"}  # no kernel: no drift


def test_the_cli_audits_every_container_and_the_engine(
    risky_host: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "host.json"
    harden = str(Path(sys.executable).with_name("harden"))
    done = subprocess.run(
        [harden, "audit", "--format", "json", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # critical failures on this host
    document = json.loads(out.read_text())
    schema = json.loads((data_dir("reports") / "audit-report.schema.json").read_text())
    jsonschema.validate(document, schema)
    names = {t["name"] for t in document["targets"]}
    assert set(risky_host.values()) <= names
    assert any(t["kind"] == "host" for t in document["targets"])


# Pod Security on live containers: the rule ids the gate uses, judged from what each
# container asked the engine for (privileged-free scenarios; one cause, one finding).
PSS_RISKS: dict[str, set[str]] = {
    "hardened-a": set(),
    "cap-sys-admin": {"PSSB-004", "PSSR-006"},
    "pid-host": {"PSSB-002"},
    "seccomp-off": {"PSSB-010", "PSSR-005"},
    "unmasked": {"PSSB-009", "PSSR-007"},
    "no-nnp": {"PSSR-002"},
}


def test_pod_security_judges_live_containers_with_the_gates_rules(
    risky_host: dict[str, str],
) -> None:
    names = tuple(risky_host[scenario] for scenario in PSS_RISKS)
    packs = ("pss-baseline", "pss-restricted")
    report = audit(AuditRequest(_now(), SourceKind.ENGINE, names=names, packs=packs))
    by_name = {t.name: t for t in report.targets}
    for scenario, expected in PSS_RISKS.items():
        target = by_name[risky_host[scenario]]
        assert _failing(target) == expected, scenario
        assert not [f.rule.id for f in target.findings if f.status is Status.ERROR], scenario
        skipped = {f.rule.id for f in target.findings if f.status is Status.SKIPPED}
        assert skipped == {"PSSB-005", "PSSR-001", "PSSR-003"}, scenario  # pod-only fields
