"""``harden rules``: list the audit rules and show one in full."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def rules() -> None:
    """The audit rules (data in audit/packs/, checked when loaded)."""


@rules.command("list")
@click.option("--pack", "packs", multiple=True, metavar="ID", help="Only these packs.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def list_rules(packs: tuple[str, ...], fmt: str) -> None:
    """Every rule: id, severity (and "manual" for rules a person judges), pack, CIS
    Docker Benchmark items, Pod Security Standards controls (on terminals of 120 columns
    or more) and title. `harden rules show ID` has everything about one."""
    import json  # noqa: PLC0415

    from harden.audit.rules.catalog import load_catalog  # noqa: PLC0415
    from harden.audit.run import select_packs  # noqa: PLC0415
    from harden.report.jsonout import rule_data  # noqa: PLC0415

    selected = select_packs(load_catalog(), packs, every=True)
    chosen = [r for p in selected for r in p.rules]
    if fmt == "json":
        click.echo(json.dumps([rule_data(r) for r in chosen], indent=2))
        return
    from rich.table import Table  # noqa: PLC0415

    from harden.cli.console import stdout_console  # noqa: PLC0415

    console = stdout_console()
    wide = console.width >= 120
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold", padding=(0, 1))
    for column in ("ID", "SEVERITY", "PACK", "CIS"):
        table.add_column(column, no_wrap=True)
    if wide:
        table.add_column("PSS", no_wrap=True)
    table.add_column("TITLE", ratio=1)
    for rule in chosen:
        manual = " manual" if rule.mode.value == "manual" else ""
        cis = rule.references.cis
        refs = ",".join(cis[:2]) + ("+" if len(cis) > 2 else "")
        cells = [rule.id, rule.severity.value + manual, rule.pack, refs]
        if wide:
            cells.append(", ".join(rule.references.pss))
        table.add_row(*cells, rule.title)
    console.print(table)


@rules.command("show")
@click.argument("rule_id")
def show(rule_id: str) -> None:
    """Everything about one rule: condition, rationale, remediation, references."""
    from harden.audit.rules.catalog import load_catalog  # noqa: PLC0415
    from harden.errors import InputError  # noqa: PLC0415

    catalog = load_catalog()
    rule = catalog.rule(rule_id)
    if rule is None:
        raise InputError(f"no rule {rule_id!r}", hint="`harden rules list` shows every rule")
    lines = [
        f"{rule.id}  {rule.title}",
        f"severity:  {rule.severity.value} ({rule.mode.value})",
        f"pack:      {rule.pack} ({rule.target.value} rule, {rule.source}:{rule.line})",
    ]
    for label, text in (
        ("applies if", rule.applies_if),
        ("condition", rule.condition),
        ("evidence", rule.evidence),
    ):
        if text:
            lines.append(f"{label + ':':11}{' '.join(text.split())}")
    lines += ["", "why:", f"  {' '.join(rule.rationale.split())}", "", "fix:"]
    lines += [
        f"  docker:     {rule.remediation.docker}",
        f"  compose:    {rule.remediation.compose}",
        f"  kubernetes: {rule.remediation.kubernetes}",
        "",
        "references:",
    ]
    for kind in ("cis", "nist", "pss"):
        for item in getattr(rule.references, kind):
            title = catalog.references[kind][item].title
            lines.append(f"  {catalog.documents[kind]} {item}: {title}")
    lines.append(f"\nexamples: {len(rule.examples)} (checked by the test suite)")
    fixes = [k for k in ("kubernetes", "compose") if getattr(rule.fix, k)]
    lines.append(f"harden fix: {' and '.join(fixes) if fixes else 'no mechanical fix'}")
    from harden.report.ruledoc import docs_url  # noqa: PLC0415

    lines.append(f"docs:      {docs_url(rule.id, docs_template())}")
    click.echo("\n".join(lines))


def docs_template() -> str:
    """Where rule pages are linked: HARDEN_DOCS_URL, else harden's own pages."""
    import os  # noqa: PLC0415

    from harden.report.ruledoc import DEFAULT_DOCS_URL  # noqa: PLC0415

    return os.environ.get("HARDEN_DOCS_URL") or DEFAULT_DOCS_URL


@rules.command("docs")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory to write one Markdown page per rule into (audit/docs in the repository).",
)
def docs(output: Path) -> None:
    """Write the documentation page of every rule, generated from its pack: why it
    matters, what fails, the fix in each form, references (CIS, PSS, NIST)."""
    from harden.audit.rules.catalog import load_catalog  # noqa: PLC0415
    from harden.cli.console import info  # noqa: PLC0415
    from harden.report.ruledoc import page  # noqa: PLC0415
    from harden.system.files import marked, write_tree  # noqa: PLC0415

    catalog = load_catalog()
    pages = {
        f"{r.id}.md": page(r, catalog.documents, catalog.references).encode()
        for r in catalog.rules()
    }
    pages[MARKER] = b"harden rules docs wrote this directory; it rewrites it whole.\n"
    write_tree(output, pages, replaceable=marked(MARKER, only="*.md"))
    info(f"wrote {len(pages) - 1} rule pages into {output}")


MARKER = ".harden-rule-docs"
