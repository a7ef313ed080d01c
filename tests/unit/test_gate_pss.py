"""Pod Security Standards: every control has a failing and a passing Pod, and the finding
points at the field that decided it (tests/data/gate/pss/<RULE>/{fail,pass}.yaml)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from harden.audit.rules.catalog import load_catalog
from harden.audit.rules.model import Status
from harden.gate.policy import Policy
from harden.gate.run import GateRequest, gate
from harden.report.locate import location
from tests.conftest import DATA, ROOT

PSS = DATA / "gate" / "pss"
CONTROLS = sorted(p.name for p in PSS.iterdir())
# A word that must be on the line the finding points at.
FIELD = {
    "PSSB-001": "hostProcess",
    "PSSB-002": "hostPID",
    "PSSB-003": "privileged",
    "PSSB-004": "add",
    "PSSB-005": "hostPath",
    "PSSB-006": "hostPort",
    "PSSB-007": "appArmorProfile",
    "PSSB-008": "seLinuxOptions",
    "PSSB-009": "procMount",
    "PSSB-010": "seccompProfile",
    "PSSB-011": "sysctls",
    "PSSB-012": "host",
    "PSSR-001": "nfs",
    "PSSR-002": "securityContext",
    "PSSR-003": "securityContext",
    "PSSR-004": "runAsUser",
    "PSSR-005": "securityContext",
    "PSSR-006": "drop",
    "PSSR-007": "procMount",
}


def _pss(path: Path) -> dict[str, tuple[Status, str, int | None]]:
    request = GateRequest((path,), "2026-01-01T00:00:00Z", datetime.date(2026, 1, 1))
    from unittest import mock

    policy = Policy(packs=("pss-baseline", "pss-restricted"))
    with mock.patch("harden.gate.run._policy", return_value=policy):
        report, _ = gate(request)
    (target,) = report.targets
    return {f.rule.id: (f.status, *location(target, f)) for f in target.findings}


def test_every_pss_rule_has_a_conformance_case() -> None:
    rules = {r.id for p in load_catalog().packs if p.id.startswith("pss-") for r in p.rules}
    assert set(CONTROLS) == rules
    assert set(FIELD) == rules
    for pack in load_catalog().packs:
        if pack.id.startswith("pss-"):
            assert all(r.since.startswith("v1.") for r in pack.rules), pack.id


@pytest.mark.parametrize("rule", CONTROLS)
def test_the_failing_pod_fails_the_control_at_its_field(rule: str) -> None:
    path = PSS / rule / "fail.yaml"
    status, file, line = _pss(path)[rule]
    assert status is Status.FAIL
    assert file == path.relative_to(ROOT).as_posix()  # relative to the repository root
    assert line is not None
    assert FIELD[rule] in path.read_text().splitlines()[line - 1]


@pytest.mark.parametrize("rule", CONTROLS)
def test_the_passing_pod_passes_every_control(rule: str) -> None:
    results = _pss(PSS / rule / "pass.yaml")
    assert results[rule][0] is Status.PASS
    failing = {r for r, (status, _, _) in results.items() if status is not Status.PASS}
    assert not failing, failing
