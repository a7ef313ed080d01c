"""Every rule has a documentation page generated from its pack, and every place a user
meets a rule links to it: SARIF helpUri, the HTML and Markdown reports, rules show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harden.audit.rules.catalog import load_catalog
from harden.report.ruledoc import page
from tests.conftest import DATA, ROOT, run_harden

DOCS = ROOT / "audit" / "docs"
BAD = str(DATA / "gate" / "corpus" / "k8s" / "bad.yaml")


def test_the_checked_in_pages_are_the_packs_pages() -> None:
    catalog = load_catalog()
    expected = {
        f"{r.id}.md": page(r, catalog.documents, catalog.references) for r in catalog.rules()
    }
    found = {p.name: p.read_text() for p in DOCS.glob("*.md")}
    assert found.keys() == expected.keys()
    stale = [name for name, text in expected.items() if found[name] != text]
    assert not stale, f"{stale}: run harden rules docs -o audit/docs"


def test_a_page_says_why_what_fails_the_fix_and_the_references() -> None:
    text = (DOCS / "PRIV-001.md").read_text()
    assert text.startswith("# PRIV-001: The container runs privileged\n")
    for part in ("## Why it matters", "## What fails", "container.privileged", "## How to fix it",
                 "| kubernetes | `securityContext.privileged: false` |",
                 "`harden fix` applies it mechanically to kubernetes and compose files",
                 "CIS Docker Benchmark v1.6.0 5.4", "baseline/privileged-containers"):  # fmt: skip
        assert part in text, part
    assert "no mechanical fix" in (DOCS / "NS-001.md").read_text()


def test_reports_link_every_rule_to_its_page(monkeypatch: pytest.MonkeyPatch) -> None:
    sarif = json.loads(run_harden("gate", BAD, "--format", "sarif").stdout)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert all(r["helpUri"].endswith(f"/audit/docs/{r['id']}.md") for r in rules)
    html = run_harden("gate", BAD, "--format", "html").stdout
    assert '<a href="https://harden.invalid/audit/docs/PRIV-001.md">PRIV-001</a>' in html
    assert '<div class="why">--privileged grants every capability' in html
    assert "CIS 5.4 · NIST 800-190 4.4.3 · PSS baseline/privileged-containers" in html
    markdown = run_harden("gate", BAD, "--format", "markdown").stdout
    assert "| [PRIV-001](https://harden.invalid/audit/docs/PRIV-001.md) | critical |" in markdown
    assert "securityContext\\.privileged: false |" in markdown  # the fix, in the file's form
    monkeypatch.setenv("HARDEN_DOCS_URL", "https://docs.example/rules/")
    sarif = json.loads(run_harden("gate", BAD, "--format", "sarif").stdout)
    assert sarif["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"].startswith(
        "https://docs.example/rules/"
    )
    shown = run_harden("rules", "show", "CAP-001").stdout
    assert "docs:      https://docs.example/rules/CAP-001.md" in shown
    assert "harden fix: kubernetes and compose" in shown


def test_rules_docs_writes_one_page_per_rule(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    assert run_harden("rules", "docs", "-o", str(out)).code == 0
    assert (out / "CAP-001.md").read_text() == (DOCS / "CAP-001.md").read_text()
    assert len(list(out.glob("*.md"))) == len(load_catalog().rules())
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.md").write_text("mine")
    refused = run_harden("rules", "docs", "-o", str(tmp_path / "mine"))
    assert refused.code == 2  # never overwrites what harden did not write
    assert (tmp_path / "mine" / "notes.md").read_text() == "mine"
