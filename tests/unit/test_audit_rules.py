"""Every audit rule carries its proof: its examples pass and fail as they say.

Also: the packs cover the CIS Docker Benchmark, a rule never passes on facts that could
not be read, and the cached catalogue is the strictly validated one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from harden.audit.rules import cache
from harden.audit.rules.evaluator import run_example, run_rules
from harden.audit.rules.loader import load_strict
from harden.audit.rules.model import Catalog, Mode, Rule, Status
from harden.audit.state.model import Gap, GapKind, SourceKind, TargetKind, TargetState
from harden.cli import cli
from harden.resources import data_dir

CATALOG = load_strict(data_dir("audit"))
RULES = CATALOG.rules()
EXAMPLES = [(rule, i) for rule in RULES for i in range(len(rule.examples))]


@pytest.mark.parametrize(
    ("rule", "index"),
    EXAMPLES,
    ids=[f"{r.id}-{r.examples[i].expect}-{i}" for r, i in EXAMPLES],
)
def test_rule_example(rule: Rule, index: int) -> None:
    example = rule.examples[index]
    finding = run_example(rule, example.values, example.kubernetes)
    assert finding.status is example.expect, (
        f"{rule.source}:{example.line}: {rule.id} gave {finding.status}: {finding.message}"
    )


def test_every_rule_has_examples_of_both_outcomes() -> None:
    for rule in RULES:
        kinds = {e.expect for e in rule.examples}
        wanted = {Status.FAIL, Status.PASS} if rule.mode is Mode.AUTOMATED else {Status.MANUAL}
        assert kinds == wanted, rule.id


def _rules_citing(section: str, catalog: Catalog = CATALOG) -> dict[str, list[Rule]]:
    out: dict[str, list[Rule]] = {}
    for item in catalog.references["cis"]:
        if item.startswith(section):
            out[item] = [r for r in RULES if item in r.references.cis]
    return out


def test_every_automatable_cis_section_5_item_has_an_automated_rule() -> None:
    for item, rules in _rules_citing("5.").items():
        if not CATALOG.references["cis"][item].manual:
            assert any(r.mode is Mode.AUTOMATED for r in rules), f"CIS {item} has no rule"


def test_every_manual_cis_section_5_item_is_listed_with_its_evidence() -> None:
    manual = [i for i, ref in CATALOG.references["cis"].items() if ref.manual and i[0] == "5"]
    assert len(manual) == 6
    for item in manual:
        rules = _rules_citing("5.")[item]
        assert rules, f"CIS {item} is not listed"
        assert all(r.evidence for r in rules if r.mode is Mode.MANUAL), item


def test_every_cis_section_2_item_has_a_daemon_rule() -> None:
    for item, rules in _rules_citing("2.").items():
        assert any(r.pack == "daemon" for r in rules), f"CIS {item} has no daemon rule"


def test_rule_ids_are_unique_and_packs_match_their_targets() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for pack in CATALOG.packs:
        assert all(r.target is pack.target for r in pack.rules)
    assert {p.id for p in CATALOG.packs} == {
        "container",
        "kernel",
        "daemon",
        "pss-baseline",
        "pss-restricted",
    }
    assert {p.id for p in CATALOG.packs if p.default} == {"container", "kernel", "daemon"}


def _state(kind: TargetKind, gap: GapKind) -> TargetState:
    gaps = {"declared.*": Gap(gap, "why"), "effective.*": Gap(gap, "why")}
    return TargetState(kind, "x", "x", SourceKind.ENGINE, gaps=gaps)


@pytest.mark.parametrize("kind", list(TargetKind))
def test_no_rule_passes_when_nothing_could_be_read(kind: TargetKind) -> None:
    findings = run_rules(RULES, _state(kind, GapKind.FAILED))
    assert findings
    assert {f.status for f in findings} == {Status.ERROR}
    assert all("why" in f.message for f in findings)


@pytest.mark.parametrize("kind", list(TargetKind))
def test_rules_are_skipped_when_the_source_cannot_know(kind: TargetKind) -> None:
    findings = run_rules(RULES, _state(kind, GapKind.UNAVAILABLE))
    assert {f.status for f in findings} == {Status.SKIPPED}


def test_the_cached_form_is_the_validated_catalogue() -> None:
    def strip(catalog: Catalog) -> list[Any]:
        return [(r.id, r.condition, r.facts, r.references, r.line) for r in catalog.rules()]

    restored = cache.decode(Catalog, json.loads(json.dumps(cache.encode(CATALOG))))
    assert strip(restored) == strip(CATALOG)
    assert [r.flat for r in restored.rules()] == [r.flat for r in CATALOG.rules()]
    assert restored.references == CATALOG.references


def test_rules_list_shows_every_rule_with_its_references() -> None:
    result = CliRunner().invoke(cli, ["rules", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for rule in RULES:
        assert rule.id in result.output


def test_rules_show_prints_the_rule_and_its_reference_titles() -> None:
    result = CliRunner().invoke(cli, ["rules", "show", "cap-001"])
    assert result.exit_code == 0, result.output
    assert "CAP-001" in result.output
    assert "CIS Docker Benchmark v1.6.0 5.3: Ensure that Linux kernel capabilities" in result.output
    assert "docker:" in result.output
    assert "kubernetes:" in result.output


def test_rules_show_an_unknown_rule_is_an_input_error() -> None:
    result = CliRunner().invoke(cli, ["rules", "show", "NOPE-001"])
    assert result.exit_code == 2
    assert "no rule 'NOPE-001'" in result.output


def test_the_rule_format_page_lists_every_fact_exactly() -> None:
    from harden.audit.state.facts import FACTS

    page = (data_dir("audit") / "README.md").read_text()
    for kind, facts in FACTS.items():
        for spec in facts.values():
            layers = "/".join(layer.value for layer in sorted(spec.layers))
            row = f"| `{spec.path}` | {spec.kind} | {layers} | {spec.doc} |"
            assert row in page, f"{kind}: {row}"
