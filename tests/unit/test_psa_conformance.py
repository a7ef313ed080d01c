"""The gate agrees with Kubernetes' Pod Security Admission on every upstream fixture.

``tests/data/conformance/psa-testdata.tar.gz`` holds PSA's own conformance fixtures
(provenance in that folder's README): for each level and version, Pods PSA refuses
(``fail/``) and Pods it admits (``pass/``), each file named after the check it is for.
Each fixture is judged here as the gate judges a manifest (the Kubernetes source, then
the gate's evaluators for a policy of that level's packs at that version), in this
process. A ``fail`` fixture must get a failing finding from the rule that stands for its
check; a ``pass`` fixture must get no failing finding and nothing unknown.

``python -m tests.unit.test_psa_conformance`` prints the table per level and version.
"""

from __future__ import annotations

import functools
import re
import sys
import tarfile
from dataclasses import dataclass, field

import pytest

from harden.audit.rules.catalog import load_catalog
from harden.audit.rules.evaluator import Evaluator
from harden.audit.rules.model import Status
from harden.audit.rules.versions import NEWEST, OLDEST, Version, label
from harden.audit.run import select_packs
from harden.audit.sources.kubernetes import manifests, objects
from harden.audit.state.model import TargetKind
from harden.gate.policy import Policy
from harden.gate.run import evaluators
from harden.system.yaml import parse_documents
from tests.conftest import DATA

TARBALL = DATA / "conformance" / "psa-testdata.tar.gz"
# PSA's check (the fixture's file name without its number) -> the rule that stands for it.
RULE_OF_CHECK = {
    "windowshostprocess": "PSSB-001",
    "hostnamespaces": "PSSB-002",
    "privileged": "PSSB-003",
    "capabilities_baseline": "PSSB-004",
    "hostpathvolumes": "PSSB-005",
    "hostports": "PSSB-006",
    "apparmorprofile": "PSSB-007",
    "selinuxoptions": "PSSB-008",
    "procmount": "PSSB-009",
    "seccompprofile_baseline": "PSSB-010",
    "sysctls": "PSSB-011",
    "hostprobesandhostlifecycle": "PSSB-012",
    "restrictedvolumes": "PSSR-001",
    "allowprivilegeescalation": "PSSR-002",
    "runasnonroot": "PSSR-003",
    "runasuser": "PSSR-004",
    "seccompprofile_restricted": "PSSR-005",
    "capabilities_restricted": "PSSR-006",
    "procmount_restricted": "PSSR-007",
}
# Pods every check admits (the minimal valid Pod of the level and version).
BASE = ("base", "base_linux", "base_windows")
PACKS = {"baseline": ("pss-baseline",), "restricted": ("pss-baseline", "pss-restricted")}
VERSIONS = [(OLDEST[0], minor) for minor in range(OLDEST[1], NEWEST[1] + 1)]
GROUPS = [(level, version) for level in PACKS for version in VERSIONS]
_NAME = re.compile(
    r"^testdata/(baseline|restricted)/v(\d+)\.(\d+)/(pass|fail)/([a-z_]+?)\d*\.yaml$"
)

Fixture = tuple[str, str, str, str]  # (pass or fail, check, member name, text)


@functools.cache
def fixtures() -> dict[tuple[str, Version], list[Fixture]]:
    """Every fixture of the tarball by (level, version), read once per process."""
    out: dict[tuple[str, Version], list[Fixture]] = {}
    with tarfile.open(TARBALL) as tar:
        for member in tar.getmembers():
            match = _NAME.match(member.name)
            if not member.isfile() or match is None:
                continue
            level, major, minor, expect, check = match.groups()
            stream = tar.extractfile(member)
            assert stream is not None
            text = stream.read().decode()
            out.setdefault((level, (int(major), int(minor))), []).append(
                (expect, check, member.name, text)
            )
    return out


@functools.cache
def _judge(level: str, version: Version) -> Evaluator:
    """The gate's container evaluator for a policy of ``level``'s packs at ``version``."""
    catalog = load_catalog()
    policy = Policy(packs=PACKS[level], kubernetes_version=version)
    return evaluators(select_packs(catalog, policy.packs), policy)[TargetKind.CONTAINER]


def findings(level: str, version: Version, name: str, text: str) -> dict[str, set[Status]]:
    """Rule id -> the statuses its findings got on the fixture's containers."""
    found = objects.Found()
    for doc in parse_documents(text, name):
        objects.find_workloads(doc, frozenset(), found)
    assert not found.problems, found.problems
    targets = manifests.targets(found)
    assert targets, f"{name}: no container read"
    out: dict[str, set[Status]] = {}
    for target in targets:
        for finding in _judge(level, version).run(target):
            out.setdefault(finding.rule.id, set()).add(finding.status)
    return out


@dataclass
class Tally:
    refused: int = 0  # fail fixtures
    caught: int = 0  # ... that got a failure from their check's rule
    admitted: int = 0  # pass fixtures
    clean: int = 0  # ... that got no failure and nothing unknown
    wrong: list[str] = field(default_factory=list)


def conformance(level: str, version: Version) -> Tally:
    tally = Tally()
    for expect, check, name, text in fixtures().get((level, version), []):
        results = findings(level, version, name, text)
        bad = sorted(r for r, s in results.items() if s & {Status.FAIL, Status.ERROR})
        if expect == "fail":
            tally.refused += 1
            ok = Status.FAIL in results.get(RULE_OF_CHECK[check], set())
            tally.caught += ok
            if not ok:
                tally.wrong.append(f"{name}: not refused by {RULE_OF_CHECK[check]} (got {bad})")
        else:
            tally.admitted += 1
            tally.clean += not bad
            if bad:
                tally.wrong.append(f"{name}: refused by {bad}")
    return tally


def test_the_fixtures_are_the_whole_upstream_set() -> None:
    groups = fixtures()
    assert sorted(groups) == sorted(GROUPS)
    every = [f for group in groups.values() for f in group]
    assert len(every) == 4537
    assert sum(f[0] == "fail" for f in every) == 3486
    checks = {f[1] for f in every}
    assert checks == set(RULE_OF_CHECK) | set(BASE)
    assert all(f[1] in BASE for f in every if f[1] not in RULE_OF_CHECK and f[0] == "pass")


def test_every_check_stands_for_a_rule_of_its_level() -> None:
    pack_of = {r.id: p.id for p in load_catalog().packs for r in p.rules}
    baseline = {
        f[1] for (level, _), group in fixtures().items() if level == "baseline" for f in group
    }
    for check, rule in RULE_OF_CHECK.items():
        assert pack_of[rule] == ("pss-baseline" if check in baseline else "pss-restricted"), check


@pytest.mark.parametrize(("level", "version"), GROUPS, ids=[f"{lv}-{label(v)}" for lv, v in GROUPS])
def test_harden_refuses_and_admits_what_psa_does(level: str, version: Version) -> None:
    tally = conformance(level, version)
    assert tally.refused + tally.admitted > 0
    assert not tally.wrong, "\n".join(tally.wrong)


def table() -> str:
    lines = [
        "| level | version | fail fixtures refused | pass fixtures admitted |",
        "| ----- | ------- | --------------------- | ---------------------- |",
    ]
    total = Tally()
    for level, version in GROUPS:
        t = conformance(level, version)
        total.refused, total.caught = total.refused + t.refused, total.caught + t.caught
        total.admitted, total.clean = total.admitted + t.admitted, total.clean + t.clean
        lines.append(
            f"| {level} | {label(version)} | {t.caught} / {t.refused} | {t.clean} / {t.admitted} |"
        )
    lines.append(
        f"| all | | {total.caught:,} / {total.refused:,} | {total.clean:,} / {total.admitted:,} |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
