"""What ``harden fix`` shows: the unified diff of the file, and a summary for a person.

Pure functions of a :class:`harden.fix.run.FixResult`.
"""

from __future__ import annotations

import difflib

from harden.fix.run import FixResult
from harden.report.summary import remediation


def unified_diff(result: FixResult) -> str:
    name = result.path.as_posix()
    old, new = (name, name) if result.path.is_absolute() else (f"a/{name}", f"b/{name}")
    return "".join(
        difflib.unified_diff(
            result.original.splitlines(keepends=True),
            result.fixed.splitlines(keepends=True),
            fromfile=old,
            tofile=new,
        )
    )


def _n(count: int, what: str) -> str:
    return f"{count} {what}{'s' * (count != 1)}"


def summary(result: FixResult, *, written: bool) -> list[str]:
    """Lines for standard error: what was fixed, what is left and why, what to do."""
    fixes = [a for a in result.applied if a.rule != "bundle"]
    bundled = [a for a in result.applied if a.rule == "bundle"]
    targets = len({a.target for a in fixes})
    if not result.changed:
        head = f"{result.path}: nothing to fix mechanically"
    else:
        fix, apply = ("fixed", "applied") if written else ("would fix", "would apply")
        done = [f"{fix} {_n(len(fixes), 'finding')} on {_n(targets, 'target')}"]
        if bundled:
            done.insert(0, f"{apply} the bundle to {_n(len(bundled), 'target')}")
        head = f"{result.path}: " + " and ".join(done)
    lines = [head]
    if result.reformatted:
        lines.append(
            f"note: {result.reformatted} document(s) use mixed indentation: lines harden did "
            "not edit are re-indented too (see the diff)"
        )
    violations = [left for left in result.left if left.violation]
    if violations:
        lines.append(f"not fixed mechanically ({len(violations)} violating the policy):")
        for left in violations:
            where = f"{result.path}:{left.line}" if left.line else str(result.path)
            fix = remediation(left.rule, left.target.source)
            lines.append(
                f"  {left.rule.id} {left.rule.severity.value} {left.target.name} ({where}): "
                f"{left.rule.title}; {left.reason}; fix: {fix}"
            )
    others = len(result.left) - len(violations)
    if others:
        lines.append(f"{others} lesser failure(s) left: harden gate {result.path} -v lists them")
    for extra in result.files:
        verb = "wrote" if written else "would write"
        lines.append(f"{verb} {extra.path}")
    lines += [f"next: {note}" for note in result.notes]
    gate = result.report.gate
    verdict = "passes" if gate is not None and gate.passed else "fails"
    lines.append(f"after the fix the policy {verdict}")
    return lines
