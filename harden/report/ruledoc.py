"""One documentation page per rule, generated from its pack (pure), and where it lives.

The pages are Markdown, checked in under ``audit/docs/<ID>.md`` (``harden rules docs``
writes them; a test proves they match the packs). Reports link to them: SARIF's
``helpUri``, the HTML and Markdown rule tables, ``harden rules show``. The link is
``RenderOptions.docs_url`` with ``{id}`` replaced: harden's published pages by default,
``HARDEN_DOCS_URL`` for a mirror (a template with ``{id}``, or a base ending in ``/``).
"""

from __future__ import annotations

from collections.abc import Mapping

from harden.audit.rules.model import ReferenceItem, Rule
from harden.report.formats import RenderOptions

DOCS_FOLDER = "docs"  # inside audit/
DEFAULT_DOCS_URL = RenderOptions.docs_url


def docs_url(rule_id: str, template: str = DEFAULT_DOCS_URL) -> str:
    if "{id}" not in template:
        template = template.rstrip("/") + "/{id}.md"
    return template.replace("{id}", rule_id)


SHORT = {"cis": "CIS", "nist": "NIST 800-190", "pss": "PSS"}


def references_text(rule: Rule) -> list[str]:
    """``CIS 5.3``, ``NIST 800-190 4.4.3``, ``PSS baseline/capabilities``: each reference
    of the rule, short (its page has the documents' full names and the items' titles)."""
    return [
        f"{SHORT[kind]} {item}"
        for kind in ("cis", "nist", "pss")
        for item in getattr(rule.references, kind)
    ]


def page(
    rule: Rule,
    documents: Mapping[str, str],
    references: Mapping[str, Mapping[str, ReferenceItem]],
) -> str:
    """The Markdown page of ``rule``: what it checks and why, what fails, the fix in
    each form, whether ``harden fix`` applies it, and its references with their titles."""
    fixes = rule.remediation
    lines = [
        f"# {rule.id}: {rule.title}",
        "",
        f"Severity **{rule.severity.value}** ({rule.mode.value}), pack `{rule.pack}`"
        + (f", Pod Security from Kubernetes {rule.since}" if rule.since else "")
        + ".",
        "",
        "## Why it matters",
        "",
        " ".join(rule.rationale.split()),
        "",
        "## What fails",
        "",
    ]
    if rule.condition:
        lines += [
            "The rule fails when this condition over the target's facts is true "
            "(`audit/README.md` lists every fact):",
            "",
            "```",
            " ".join(rule.condition.split()),
            "```",
        ]
    else:
        lines.append("A person judges it from the evidence the audit collects.")
    if rule.applies_if:
        lines += ["", f"It applies only if `{' '.join(rule.applies_if.split())}`."]
    if rule.covers:
        lines += ["", f"Its failure explains (covers) {', '.join(rule.covers)}."]
    lines += [
        "",
        "## How to fix it",
        "",
        "| form | fix |",
        "| --- | --- |",
        f"| docker | `{fixes.docker}` |",
        f"| compose | `{fixes.compose}` |",
        f"| kubernetes | `{fixes.kubernetes}` |",
        "",
    ]
    kinds = [k for k in ("kubernetes", "compose") if getattr(rule.fix, k)]
    if kinds:
        lines.append(
            f"`harden fix` applies it mechanically to {' and '.join(kinds)} files"
            + (f" (the fix of {rule.fix.like})." if rule.fix.like else ".")
        )
    else:
        lines.append("`harden fix` lists it: there is no mechanical fix, a person decides.")
    lines += ["", "## References", ""]
    cited = [
        (documents.get(kind, kind), item, references.get(kind, {}).get(item))
        for kind in ("cis", "nist", "pss")
        for item in getattr(rule.references, kind)
    ]
    lines += [
        f"- {doc} {item}: {ref.title if ref else ''}".rstrip(": ") for doc, item, ref in cited
    ]
    if not cited:
        lines.append("- none: a check of harden's own")
    return "\n".join(lines) + "\n"
