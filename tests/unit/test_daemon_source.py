"""The host target: dockerd's flags and daemon.json (declared), the engine's /info (effective)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harden.audit.rules.catalog import load_catalog
from harden.audit.rules.evaluator import run_rules
from harden.audit.rules.model import Status
from harden.audit.sources.docker.daemon import host_target, local_daemon, parse_args
from harden.audit.state.model import GapKind, SourceKind
from harden.system.proc import ProcFS

INFO: dict[str, Any] = {
    "Name": "node-1",
    "ServerVersion": "24.0.7",
    "SecurityOptions": ["name=seccomp,profile=unconfined", "name=userns", "name=rootless"],
    "LiveRestoreEnabled": True,
    "Plugins": {"Authorization": ["opa-docker-authz"]},
    "Driver": "overlay2",
    "LoggingDriver": "journald",
    "ExperimentalBuild": False,
    "RegistryConfig": {
        "InsecureRegistryCIDRs": ["127.0.0.0/8", "10.0.0.0/8"],
        "IndexConfigs": {"docker.io": {"Secure": True}, "reg.local:5000": {"Secure": False}},
    },
}


def _dockerd(tmp_path: Path, argv: list[str], config: str | None) -> ProcFS:
    proc = tmp_path / "proc"
    (proc / "77").mkdir(parents=True)
    (proc / "77" / "comm").write_text("dockerd\n")
    if config is not None:
        (tmp_path / "daemon.json").write_text(config)
        argv = [*argv, "--config-file", str(tmp_path / "daemon.json")]
    else:
        argv = [*argv, "--config-file", str(tmp_path / "none.json")]
    (proc / "77" / "cmdline").write_text("\x00".join(["dockerd", *argv]) + "\x00")
    return ProcFS(str(proc), str(tmp_path / "sys"))


def test_flag_forms_are_understood() -> None:
    flags = parse_args(
        [
            "dockerd",
            "-H",
            "unix:///run/d.sock",
            "--host=tcp://0.0.0.0:2375",
            "--icc=false",
            "--live-restore",
            "-b",
            "none",
            "--userns-remap",
            "default",
        ]
    )
    assert flags["--host"] == ["unix:///run/d.sock", "tcp://0.0.0.0:2375"]
    assert flags["--icc"] == ["false"]
    assert flags["--live-restore"] == ["true"]
    assert flags["--bridge"] == ["none"]
    assert flags["--userns-remap"] == ["default"]


def test_flags_win_over_daemon_json_and_defaults_fill_the_rest(tmp_path: Path) -> None:
    config = json.dumps(
        {
            "icc": True,
            "log-level": "debug",
            "authorization-plugins": ["authz"],
            "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 4096}},
        }
    )
    proc = _dockerd(tmp_path, ["--icc=false", "-H", "tcp://0.0.0.0:2375"], config)
    state = host_target(SourceKind.ENGINE, None, local_daemon(proc), proc=proc)
    facts = {p: f.value for p, f in state.declared.items()}
    assert facts["daemon.icc"] is False
    assert "--icc" in state.declared["daemon.icc"].origin
    assert facts["daemon.log_level"] == "debug"
    assert "daemon.json: log-level" in state.declared["daemon.log_level"].origin
    assert facts["daemon.hosts"] == ["tcp://0.0.0.0:2375"]
    assert facts["daemon.tls_verify"] is False
    assert facts["daemon.live_restore"] is False
    assert "dockerd default" in state.declared["daemon.live_restore"].origin
    assert facts["daemon.default_ulimits"] == {"nofile": "1024:4096"}
    assert facts["daemon.default_bridge"] is True
    assert state.gaps["effective.daemon.live_restore"].kind is GapKind.FAILED


def test_engine_info_is_the_effective_layer(tmp_path: Path) -> None:
    proc = _dockerd(tmp_path, [], None)
    state = host_target(SourceKind.ENGINE, INFO, local_daemon(proc), proc=proc)
    effective = {p: f.value for p, f in state.effective.items()}
    assert state.name == "node-1"
    assert effective["daemon.userns_remap"] == "enabled"
    assert effective["daemon.seccomp_profile"] == "unconfined"
    assert effective["daemon.rootless"] is True
    assert effective["daemon.authorization_plugins"] == ["opa-docker-authz"]
    assert effective["daemon.insecure_registries"] == ["10.0.0.0/8", "reg.local:5000"]
    findings = {f.rule.id: f for f in run_rules(load_catalog().rules(), state)}
    assert findings["DMN-016"].status is Status.FAIL  # unconfined seccomp by default
    assert findings["DMN-005"].status is Status.FAIL
    assert findings["DMN-001"].status is Status.PASS
    assert findings["DMN-014"].status is Status.PASS  # /info wins over the default


def test_a_broken_daemon_json_makes_its_facts_unknown(tmp_path: Path) -> None:
    proc = _dockerd(tmp_path, [], '{"icc": false,')
    state = host_target(SourceKind.ENGINE, None, local_daemon(proc), proc=proc)
    gap = state.gaps["declared.daemon.icc"]
    assert gap.kind is GapKind.FAILED
    assert "daemon.json: cannot be read" in gap.reason
    findings = {f.rule.id: f.status for f in run_rules(load_catalog().rules(), state)}
    assert findings["DMN-002"] is Status.ERROR
    assert Status.PASS not in {s for rid, s in findings.items() if rid != "DMN-018"}


def test_without_dockerd_the_daemon_rules_are_not_applicable(tmp_path: Path) -> None:
    proc = ProcFS(str(tmp_path), str(tmp_path))
    state = host_target(SourceKind.PROC, None, local_daemon(proc), proc=proc)
    assert state.effective["daemon.running"].value is False
    findings = run_rules(load_catalog().rules(), state)
    assert {f.status for f in findings} == {Status.SKIPPED}
