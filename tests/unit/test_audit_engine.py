"""The rule engine's statuses: what a missing, failed or unavailable fact turns into."""

from __future__ import annotations

import pytest

from harden.audit.rules.catalog import load_catalog
from harden.audit.rules.evaluator import run_rules
from harden.audit.rules.model import Finding, Status
from harden.audit.state.model import Fact, Gap, GapKind, SourceKind, TargetKind, TargetState

DEFAULT_CAPS = ["CHOWN", "KILL", "NET_RAW"]


def _findings(state: TargetState) -> dict[str, Finding]:
    return {f.rule.id: f for f in run_rules(load_catalog().rules(), state)}


def _state(
    declared: dict[str, object], effective: dict[str, object], gaps: dict[str, Gap] | None = None
) -> TargetState:
    return TargetState(
        TargetKind.CONTAINER,
        "c",
        "c",
        SourceKind.ENGINE,
        {k: Fact(v, f"engine: {k}") for k, v in declared.items()},
        {k: Fact(v, f"/proc: {k}") for k, v in effective.items()},
        gaps or {},
    )


def test_the_merged_view_prefers_the_kernel_and_says_so() -> None:
    state = _state({"caps.bounding": ["SYS_ADMIN"]}, {"caps.bounding": DEFAULT_CAPS})
    cap = _findings(state)["CAP-001"]
    assert cap.status is Status.PASS
    drift = _findings(state)["DRIFT-003"]  # and the difference is drift
    assert (drift.status, drift.detail) == (Status.FAIL, DEFAULT_CAPS)
    both = _state({"caps.bounding": DEFAULT_CAPS}, {"caps.bounding": [*DEFAULT_CAPS, "BPF"]})
    finding = _findings(both)["CAP-001"]
    assert finding.status is Status.FAIL
    assert finding.detail == ["BPF"]
    assert [(e.fact, e.origin) for e in finding.evidence] == [
        ("container.caps.bounding", "/proc: caps.bounding")
    ]
    assert _findings(both)["DRIFT-003"].detail == ["BPF"]


def test_a_kernel_fact_that_failed_falls_back_to_the_declared_one_for_merged_rules() -> None:
    gap = Gap(GapKind.FAILED, "/proc/42/status: permission denied (run as root)")
    state = _state({"caps.bounding": DEFAULT_CAPS}, {}, {"effective.caps.bounding": gap})
    findings = _findings(state)
    assert findings["CAP-001"].status is Status.PASS  # decided on the configuration
    krn = findings["KRN-001"]  # a kernel-truth rule cannot be decided without /proc
    assert krn.status is Status.ERROR
    assert "permission denied (run as root)" in krn.message
    assert krn.evidence[0].value is None
    assert krn.evidence[0].origin.startswith("missing:")


def test_a_source_that_cannot_know_skips_the_rule_with_the_reason() -> None:
    gaps = {"effective.*": Gap(GapKind.UNAVAILABLE, "a saved inspect file holds no kernel state")}
    state = _state({"healthcheck.configured": True}, {}, gaps)
    findings = _findings(state)
    assert findings["RUN-003"].status is Status.SKIPPED
    assert "holds no kernel state" in findings["RUN-003"].message
    assert findings["RUN-002"].status is Status.PASS


def test_applies_if_false_is_not_applicable() -> None:
    state = _state({"lsm.apparmor_enabled": False, "apparmor.profile": ""}, {})
    finding = _findings(state)["SEC-004"]
    assert finding.status is Status.SKIPPED
    assert finding.message.startswith("not applicable")


def test_a_failure_with_an_unreadable_alternative_is_still_a_failure() -> None:
    gap = Gap(GapKind.FAILED, "cannot read")
    state = _state(
        {"resources.memory": 64, "resources.pids": 10},
        {"resources.memory": 0},
        {"effective.resources.pids": gap},
    )
    assert _findings(state)["DRIFT-006"].status is Status.FAIL
    fine = _state(
        {"resources.memory": 64, "resources.pids": 10},
        {"resources.memory": 64},
        {"effective.resources.pids": gap},
    )
    assert _findings(fine)["DRIFT-006"].status is Status.ERROR


def test_no_rule_can_be_decided_without_its_facts() -> None:
    """The evaluator skips CEL for a rule whose facts are all missing; this holds only if
    every expression of every rule errors when none of its facts is there."""
    from harden.audit.rules import cel
    from harden.audit.rules.catalog import load_catalog
    from harden.audit.rules.evaluator import Programs

    empty = cel.context({})
    for rule in load_catalog().rules():
        compiled = Programs.of(rule.flat)
        programs = (compiled.condition, compiled.applies_if, compiled.evidence)
        for program in (p for p in programs if p is not None):
            with pytest.raises(Exception):  # noqa: B017, PT011 - any CEL error
                program.execute(empty)
