"""SARIF 2.1.0 for GitHub code scanning: built as data, serialised (never templated).

``tool.driver.rules`` holds every rule of the report's packs with its help text and a
``security-severity`` (GitHub's severity scale: critical >= 9, high >= 7, medium >= 4).
Each failing or waived finding is a result at the file and line of the field that
decided it; waived ones carry an accepted ``suppression`` with the reason. Findings of
a running host have no file: they get a stable synthetic location
(``harden-runtime/<host>/<container>``, line 1). ``partialFingerprints`` holds harden's
fingerprint, which does not change when lines move. Rules that could not be decided are
tool execution notifications, and ``executionSuccessful`` is false then. Every text a
person reads (messages, justifications, rule help: a fleet merge takes rules from the
hosts' reports) goes through :func:`shown`, as in every other format.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from harden.audit.report import Report
from harden.audit.rules.model import Rule, Severity, Status
from harden.report.formats import RenderOptions
from harden.report.locate import fingerprint
from harden.report.ruledoc import DEFAULT_DOCS_URL, docs_url
from harden.report.summary import Row, finding_rows, remediation, skipped_notes
from harden.report.text import shown

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/harden/harden"
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
FINGERPRINT_KEY = "harden/v1"
MAX_RESULTS = 25_000  # GitHub code scanning refuses a run with more results


def _rule(rule: Rule, documents: dict[str, str], docs: str) -> dict[str, Any]:
    refs = [
        shown(f"{documents.get(k, k)} {i}")
        for k in ("cis", "nist", "pss")
        for i in getattr(rule.references, k)
    ]
    rationale = shown(rule.rationale)
    docker, compose, kubernetes = (
        shown(rule.remediation.docker),
        shown(rule.remediation.compose),
        shown(rule.remediation.kubernetes),
    )
    text = (
        f"{rationale}\n\nFix (docker): {docker}\n"
        f"Fix (compose): {compose}\nFix (kubernetes): {kubernetes}"
    )
    markdown = (
        f"{rationale}\n\n| form | fix |\n| --- | --- |\n"
        f"| docker | `{docker}` |\n| compose | `{compose}` |\n"
        f"| kubernetes | `{kubernetes}` |"
    )
    if refs:
        text += "\n\nReferences: " + "; ".join(refs)
        markdown += "\n\nReferences: " + "; ".join(refs)
    tags = [shown(t) for t in ("security", rule.pack, *(f"pss/{p}" for p in rule.references.pss))]
    return {
        "id": rule.id,
        "name": rule.id.replace("-", ""),
        "shortDescription": {"text": shown(rule.title)},
        "fullDescription": {"text": rationale},
        "helpUri": docs_url(rule.id, docs),
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": "high" if rule.mode.value == "automated" else "low",
            "tags": tags,
        },
    }


def _location(row: Row) -> dict[str, Any]:
    if row.file:
        uri, line = _uri(row.file.replace("\\", "/"), "/"), row.line or 1
    else:
        host = row.target.host or "localhost"
        uri, line = f"harden-runtime/{_uri(host)}/{_uri(row.target.name)}", 1
    return {
        "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}},
        "logicalLocations": [{"name": shown(row.target.name), "kind": "resource"}],
    }


def _uri(text: str, safe: str = "") -> str:
    """``text`` percent-encoded; a lone surrogate (no UTF-8 for it) as its escape."""
    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        return quote(shown(text), safe=safe)


def _result(row: Row, index: dict[str, int]) -> dict[str, Any]:
    finding, rule = row.finding, row.finding.rule
    text = f"{rule.title} ({row.target.name})"
    if finding.detail is not None:
        text += f": {json.dumps(finding.detail, ensure_ascii=False, default=str)}"
    text = shown(f"{text}. Fix: {remediation(rule, row.target.source)}")
    result: dict[str, Any] = {
        "ruleId": rule.id,
        "ruleIndex": index[rule.id],
        "level": LEVEL[rule.severity],
        "message": {"text": text},
        "locations": [_location(row)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(row.target, finding)},
        "properties": {"target": shown(row.target.name), "severity": rule.severity.value},
    }
    if finding.accepted is not None:
        a = finding.accepted
        justification = (
            a.reason
            + (f" (owner {a.owner})" if a.owner else "")
            + (f", until {a.expires}" if a.expires else "")
        )
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": shown(justification)}
        ]
    return result


_RESULTS = "\x00results\x00"  # where the results go in the serialised skeleton


def document(report: Report, docs: str = DEFAULT_DOCS_URL) -> dict[str, Any]:
    skeleton, results = _document(report, docs)
    skeleton["runs"][0]["results"] = list(results)
    return skeleton


def _document(
    report: Report, docs: str = DEFAULT_DOCS_URL
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    rules = sorted({r.id: r for p in report.packs for r in p.rules}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    rows = finding_rows(report, (Status.FAIL, Status.WAIVED))
    left_out = max(len(rows) - MAX_RESULTS, 0)
    if left_out:  # keep the most severe failures, in report order
        order = sorted(
            range(len(rows)),
            key=lambda i: (
                rows[i].finding.status is Status.WAIVED,
                -rows[i].finding.rule.severity.rank,
                i,
            ),
        )
        rows = [rows[i] for i in sorted(order[:MAX_RESULTS])]
    for row in rows:  # merged reports may hold rules of packs they do not list
        if row.finding.rule.id not in index:
            index[row.finding.rule.id] = len(rules)
            rules.append(row.finding.rule)
    notifications = [
        {
            "level": "warning",
            "message": {
                "text": shown(f"{row.finding.rule.id} on {row.target.name}: {row.finding.message}")
            },
            "locations": [_location(row)],
        }
        for row in finding_rows(report, (Status.ERROR,))
    ]
    notifications += [{"level": "error", "message": {"text": shown(p)}} for p in report.problems]
    notifications += [
        {"level": "note", "message": {"text": shown(n)}} for n in skipped_notes(report, 100)
    ]
    if left_out:
        text = f"{left_out} less severe results left out: GitHub accepts {MAX_RESULTS} per run"
        notifications.append({"level": "warning", "message": {"text": text}})
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "harden",
                        "version": report.tool_version,
                        "semanticVersion": report.tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(r, dict(report.documents), docs) for r in rules],
                    }
                },
                "automationDetails": {"id": f"harden/{report.kind.value}/"},
                "invocations": [
                    {
                        "executionSuccessful": report.complete,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": _RESULTS,
                "properties": {"generated_at": report.generated_at},
            }
        ],
    }, (_result(row, index) for row in rows)


def render_sarif(report: Report, options: RenderOptions) -> str:
    if options.pretty:
        return (
            json.dumps(document(report, options.docs_url), indent=2, ensure_ascii=True, default=str)
            + "\n"
        )
    # Serialised result by result into the skeleton: the same text as one json.dumps of the
    # whole document, without holding every result as a dict at once (25,000 of them).
    # One join at the end: the parts and the text are the only copies held at once.
    skeleton, results = _document(report, options.docs_url)
    head, tail = json.dumps(skeleton, ensure_ascii=True, default=str).split(json.dumps(_RESULTS), 1)
    parts = [head, "["]
    for n, result in enumerate(results):
        if n:
            parts.append(", ")
        parts.append(json.dumps(result, ensure_ascii=True, default=str))
    parts += ["]", tail, "\n"]
    return "".join(parts)
