"""The one rule engine: CEL conditions over a target's facts -> findings.

* condition true -> FAIL (with evidence); false -> PASS.
* A CEL error means a fact the rule needs is missing. If the source *failed* to read it,
  the finding is ERROR (unknown) with the reason; if the source *cannot* know it (no
  declared layer under ``--source proc``), SKIPPED. Never a PASS: rules may not use
  ``has()``, so a false result is always decided by facts that were read.
* ``applies_if`` false -> SKIPPED (not applicable); manual rules -> MANUAL with evidence.

An evaluator judges as of one Kubernetes version: the run constant ``kubernetes.minor``
is written into every expression when it compiles them (:func:`harden.audit.rules.cel.bind`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harden.audit.rules import cel
from harden.audit.rules.model import Evidence, Finding, Flat, Mode, Rule, Status
from harden.audit.rules.versions import NEWEST, Version, run_constants
from harden.audit.state.facts import VIEW_NAME
from harden.audit.state.model import GapKind, Layer, TargetKind, TargetState
from harden.audit.state.view import MISSING, Values, lookup


def plain(value: Any) -> Any:
    """A CEL result as plain data with map keys in order: CEL maps come back in hash
    order, which differs between runs, and reports must be byte-identical."""
    if isinstance(value, dict):
        return {k: plain(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _gap(state: TargetState | None, reference: str) -> tuple[GapKind | None, str]:
    """Why the fact ``container.caps.bounding`` is missing from ``state``."""
    if state is None:
        return None, f"{reference} was not given"
    variable, _, path = reference.partition(".")
    layers = (
        (Layer.EFFECTIVE, Layer.DECLARED)
        if variable == VIEW_NAME[state.kind]
        else (Layer(variable),)
    )
    gaps = [g for g in (state.gap(layer, path) for layer in layers) if g is not None]
    failed = [g.reason for g in gaps if g.kind is GapKind.FAILED]
    if failed:
        return GapKind.FAILED, failed[0]
    if gaps:
        return GapKind.UNAVAILABLE, gaps[0].reason
    return None, f"{reference} was not collected"


def _evidence(rule: Rule, values: Values, state: TargetState | None) -> tuple[Evidence, ...]:
    out = []
    for reference in rule.facts:
        value = values.get(reference)
        if value is MISSING:
            out.append(Evidence(reference, None, "missing: " + _gap(state, reference)[1]))
            continue
        fact = lookup(state, reference) if state is not None else None
        if fact is None:
            out.append(Evidence(reference, value, ""))
        else:
            out.append(Evidence(reference, value, fact.origin, fact.line))
    return tuple(out)


def _unknown(rule: Rule, values: Values, state: TargetState | None, exc: Exception) -> Finding:
    missing = [f for f in rule.facts if values.get(f) is MISSING]
    evidence = _evidence(rule, values, state)
    if not missing:
        return Finding(rule, Status.ERROR, f"rule evaluation failed: {exc}", evidence)
    gaps = [(_gap(state, f), f) for f in missing]
    failed = [f"{f}: {reason}" for (kind, reason), f in gaps if kind is not GapKind.UNAVAILABLE]
    if failed:
        return Finding(rule, Status.ERROR, "; ".join(dict.fromkeys(failed)), evidence)
    reasons = [f"{f}: {reason}" for (_kind, reason), f in gaps]
    return Finding(rule, Status.SKIPPED, "; ".join(dict.fromkeys(reasons)), evidence)


@dataclass(frozen=True)
class Programs:
    """The compiled programs of one rule's flat expressions (None: no such expression)."""

    condition: Any
    applies_if: Any
    evidence: Any

    @classmethod
    def of(cls, flat: Flat, kubernetes: Version = NEWEST) -> Programs:
        run = run_constants(kubernetes)

        def one(text: str) -> Any:
            return cel.program(cel.bind(text, run)) if text else None

        return cls(one(flat.condition), one(flat.applies_if), one(flat.evidence))


def evaluate(
    rule: Rule, programs: Programs, values: Values, context: Any, state: TargetState | None
) -> Finding:
    """One rule against one target's CEL ``context`` (built from ``values``)."""
    try:
        if programs.applies_if is not None and not programs.applies_if.execute(context):
            return Finding(rule, Status.SKIPPED, f"not applicable: {rule.applies_if.strip()}")
        if rule.mode is Mode.MANUAL:
            detail = plain(programs.evidence.execute(context))
            return Finding(
                rule,
                Status.MANUAL,
                "needs a person to judge the evidence",
                _evidence(rule, values, state),
                detail,
            )
        result = programs.condition.execute(context)
    except Exception as exc:
        return _unknown(rule, values, state, exc)
    if result is False:
        return passed(rule)
    if result is not True:
        return Finding(rule, Status.ERROR, f"condition gave {result!r}, not true or false")
    return _failure(rule, programs, values, context, state)


_PASSED: dict[str, Finding] = {}


def passed(rule: Rule) -> Finding:
    """A pass carries nothing but its rule: one shared (immutable) finding per rule."""
    found = _PASSED.get(rule.id)
    if found is None or found.rule is not rule:
        found = _PASSED[rule.id] = Finding(rule, Status.PASS)
    return found


def _failure(
    rule: Rule, programs: Programs, values: Values, context: Any, state: TargetState | None
) -> Finding:
    detail = None
    if programs.evidence is not None:
        try:
            detail = plain(programs.evidence.execute(context))
        except Exception:
            detail = None
    return Finding(rule, Status.FAIL, rule.title, _evidence(rule, values, state), detail)


class Evaluator:
    """The rules for one kind of target, evaluated against one target after another, as of
    one Kubernetes version. It owns the rules' compiled programs (compiled CEL is not
    data: it stays in the process that compiled it, and a forked worker inherits it)."""

    def __init__(
        self, rules: Iterable[Rule], kind: TargetKind, kubernetes: Version = NEWEST
    ) -> None:
        self.rules = tuple(r for r in rules if r.target is kind)
        self._programs = {r.id: Programs.of(r.flat, kubernetes) for r in self.rules}
        index = {r.id: i for i, r in enumerate(self.rules)}
        # (the cause's index, the indexes of the rules it covers) for causes that cover any
        self._covering = [
            (index[r.id], [index[c] for c in r.covers if c in index])
            for r in self.rules
            if any(c in index for c in r.covers)
        ]
        self.references = frozenset(f for r in self.rules for f in r.facts)
        self._unknowns: dict[tuple[Any, ...], Finding] = {}
        # per rule: (variable, path) of every fact it reads, for a fast "all missing" test
        self._reads = {
            r.id: tuple(f.partition(".")[::2] for f in r.facts) for r in self.rules if r.facts
        }

    def run(self, state: TargetState) -> tuple[Finding, ...]:
        values = Values.of(state)
        context = cel.context(values.variables(self.references))
        out = []
        declared, effective = values.declared, values.effective
        gaps: dict[str, tuple[GapKind | None, str]] = {}  # reference -> why it is missing
        for rule in self.rules:
            reads = self._reads.get(rule.id)
            if reads and not any(
                (path in declared and variable != "effective")
                or (path in effective and variable != "declared")
                for variable, path in reads
            ):
                out.append(self._unknown(rule, values, state, gaps))
            else:
                out.append(evaluate(rule, self._programs[rule.id], values, context, state))
        if self._covering:
            _cover(out, self._covering)
        return tuple(out)

    def _unknown(
        self,
        rule: Rule,
        values: Values,
        state: TargetState,
        gaps: dict[str, tuple[GapKind | None, str]],
    ) -> Finding:
        """Every fact the rule reads is missing: no CEL can decide it (every expression of
        every rule errors without its facts; a test holds this). The finding depends only
        on why each fact is missing, so targets with the same gaps share it."""
        why = []
        for reference in rule.facts:
            gap = gaps.get(reference)
            if gap is None:
                gap = gaps[reference] = _gap(state, reference)
            why.append(gap)
        key = (rule.id, *why)
        found = self._unknowns.get(key)
        if found is None or found.rule is not rule:
            found = self._unknowns[key] = _unknown(rule, values, state, LookupError("missing"))
        return found


def _cover(out: list[Finding], covering: list[tuple[int, list[int]]]) -> None:
    """Failures that another failure explains become skipped, attributed to the outermost
    failing cause (covers form no cycle: the loader refuses one)."""
    owner: dict[int, int] = {}
    for cause, covered in covering:
        if out[cause].status is Status.FAIL:
            for index in covered:
                if out[index].status is Status.FAIL:
                    owner.setdefault(index, cause)
    for index, first in owner.items():
        root = first
        while root in owner:
            root = owner[root]
        out[index] = _covered(out[index], out[root].rule)


def _covered(finding: Finding, cause: Rule) -> Finding:
    """A failure that another failing rule of the same target already explains (one cause,
    one failing finding): shown as skipped, with the cause."""
    if finding.status is not Status.FAIL:
        return finding
    message = f"covered by {cause.id} ({cause.title})"
    return Finding(finding.rule, Status.SKIPPED, message, finding.evidence, finding.detail)


def run_rules(rules: Iterable[Rule], state: TargetState) -> tuple[Finding, ...]:
    """Every rule for this kind of target, against ``state``."""
    return Evaluator(rules, state.kind).run(state)


def run_example(rule: Rule, values: Values, kubernetes: Version = NEWEST) -> Finding:
    """A rule against one of its examples (no state: missing facts are errors)."""
    context = cel.context(values.variables(rule.facts))
    return evaluate(rule, Programs.of(rule.flat, kubernetes), values, context, None)
