"""Findings across a process boundary: compact tuples out, shared findings back in.

Compiled CEL programs do not pickle, so a finding travels as its rule's index and plain
data. A pass is the index alone (every pass of a rule is one shared finding, see
:func:`harden.audit.rules.evaluator.passed`); a finding many targets share (the same skip for
the same gap) is packed once per batch and built once on arrival.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from harden.audit.rules.evaluator import passed
from harden.audit.rules.model import Evidence, Finding, Rule, Status


class Packer:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self._index = {rule.id: i for i, rule in enumerate(rules)}
        self._packed: dict[int, tuple[Finding, Any]] = {}

    def pack(self, findings: Iterable[Finding]) -> list[Any]:
        items = []
        for finding in findings:
            seen = self._packed.get(id(finding))
            if seen is None or seen[0] is not finding:
                seen = self._packed[id(finding)] = (finding, self._one(finding))
            items.append(seen[1])
        return items

    def _one(self, finding: Finding) -> Any:
        if finding.status is Status.PASS:
            return self._index[finding.rule.id]
        evidence = tuple((e.fact, e.value, e.origin, e.line) for e in finding.evidence)
        rule = self._index[finding.rule.id]
        return (rule, finding.status.value, finding.message, evidence, finding.detail)


class Unpacker:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self._rules = tuple(rules)
        self._passes = [passed(rule) for rule in self._rules]
        self._built: dict[int, tuple[Any, Finding]] = {}

    def unpack(self, items: Iterable[Any]) -> tuple[Finding, ...]:
        findings = []
        for item in items:
            if type(item) is int:
                findings.append(self._passes[item])
                continue
            seen = self._built.get(id(item))
            if seen is None or seen[0] is not item:
                seen = self._built[id(item)] = (item, self._one(item))
            findings.append(seen[1])
        return tuple(findings)

    def _one(self, item: Any) -> Finding:
        rule, status, message, evidence, detail = item
        return Finding(
            self._rules[rule],
            Status(status),
            message,
            tuple(Evidence(*e) for e in evidence),
            detail,
        )
