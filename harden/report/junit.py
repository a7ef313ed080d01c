"""JUnit XML: one test suite per target, one test case per rule x target.

The document follows the JUnit schema CI servers validate against (Jenkins' xUnit
plugin, ``tests/data/conformance/junit-10.xsd``): a suite carries its input ``file``; a
case has no place for a file or line, so a failure's text says where (``at: file:line``).

Built with ElementTree and serialised (never templated). XML 1.0 cannot carry control
characters, lone surrogates or U+FFFE/U+FFFF even escaped, so every string of the report
goes through :func:`shown` first (``\\x1b`` is written as the four characters ``\\x1b``);
ElementTree escapes markup. (Rule titles are untrusted too: a fleet merge reads them
from the hosts' reports.)
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter

from harden.audit.report import Report, TargetResult
from harden.audit.rules.model import Finding, Status
from harden.report.formats import RenderOptions
from harden.report.locate import location
from harden.report.summary import remediation, title
from harden.report.text import shown

_SKIPPED = (Status.WAIVED, Status.SKIPPED, Status.MANUAL)


def _counts(findings: tuple[Finding, ...], *, skipped: bool = True) -> dict[str, str]:
    """The count attributes; the schema has ``skipped`` on a testsuite, not on testsuites."""
    counts = Counter(f.status for f in findings)
    out = {
        "tests": str(len(findings)),
        "failures": str(counts[Status.FAIL]),
        "errors": str(counts[Status.ERROR]),
    }
    if skipped:
        out["skipped"] = str(sum(counts[s] for s in _SKIPPED))
    return out


def _case(suite: ET.Element, target: TargetResult, finding: Finding) -> None:
    rule = finding.rule
    case = ET.SubElement(
        suite,
        "testcase",
        {"name": shown(f"{rule.id} {rule.title}"), "classname": shown(target.name)},
    )
    file, line = location(target, finding)  # the schema has no place for them on a case
    if finding.status is Status.FAIL:
        body = [f"severity: {rule.severity.value}"]
        if finding.detail is not None:
            body.append("found: " + json.dumps(finding.detail, ensure_ascii=False, default=str))
        if file:
            body.append(f"at: {file}:{line or ''}")
        body.append("fix: " + remediation(rule, target.source))
        if finding.message != rule.title:
            body.append(finding.message)
        failure = ET.SubElement(
            case, "failure", {"message": shown(finding.message), "type": rule.severity.value}
        )
        failure.text = "\n".join(shown(part) for part in body)
    elif finding.status is Status.ERROR:
        ET.SubElement(case, "error", {"message": shown(finding.message), "type": "unknown"})
    elif finding.status in _SKIPPED:
        message = finding.message or finding.status.value
        if finding.accepted is not None:
            message = f"waived ({finding.accepted.how.value}): {finding.accepted.reason}"
        ET.SubElement(case, "skipped", {"message": shown(message)})


def render_junit(report: Report, options: RenderOptions) -> str:
    del options
    everything = tuple(f for t in report.targets for f in t.findings)
    root = ET.Element(
        "testsuites", {"name": shown(title(report)), **_counts(everything, skipped=False)}
    )
    for target in report.targets:
        name = f"{target.host}: {target.name}" if target.host else target.name
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": shown(name),
                **_counts(target.findings),
                "timestamp": shown(report.generated_at),
            },
        )
        if target.file:
            suite.set("file", shown(target.file))
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", {"name": "file", "value": shown(target.file)})
        for finding in target.findings:
            _case(suite, target, finding)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
