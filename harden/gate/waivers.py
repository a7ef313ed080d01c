"""Accepting failures: inline waivers, the policy's waivers, then the baseline.

Only failing findings are accepted; they become *waived* and keep everything they had
(evidence, location), plus what accepted them. A waiver past its expiry date accepts
nothing: the failure stays, says which waiver expired, and fails the gate whatever its
severity. An inline waiver that names no known rule, or has a bad date, is an input
error with the file and line.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from harden.audit.rules.model import Acceptance, Accepted, Finding, Status
from harden.audit.sources.located import waiver_key
from harden.audit.state.model import TargetState
from harden.errors import FileProblems, Problem
from harden.gate.baseline import Entry
from harden.gate.policy import Policy, Waiver, parse_inline
from harden.report.locate import fingerprint_of

Results = list[tuple[TargetState, tuple[Finding, ...]]]


@dataclass(frozen=True)
class _Inline:
    rule: str
    reason: str
    expires: datetime.date | None
    where: str


@dataclass
class Accepting:
    policy: Policy
    baseline: dict[str, Entry]
    today: datetime.date
    baseline_name: str = ""
    expired: list[str] = field(default_factory=list)
    used: set[Waiver] = field(default_factory=set)

    def unused(self) -> list[str]:
        return [
            f"{w.where}: waiver of {w.rule} on {w.target} matched no failure"
            for w in self.policy.waivers
            if w not in self.used
        ]


def inline_waivers(
    state: TargetState, known: frozenset[str]
) -> tuple[list[_Inline], list[Problem]]:
    out, problems = [], []
    for waiver in state.waivers:
        where = f"{state.file}:{waiver.line}" if waiver.line else state.file
        if waiver.rule.upper() not in known:
            problems.append(
                Problem(f"inline waiver names no rule {waiver.rule!r}", "annotations", waiver.line)
            )
            continue
        try:
            reason, expires = parse_inline(waiver.text)
        except ValueError as exc:
            problems.append(
                Problem(f"inline waiver of {waiver.rule}: {exc}", "annotations", waiver.line)
            )
            continue
        out.append(_Inline(waiver.rule.upper(), reason, expires, where))
    return out, problems


def _expired(expires: datetime.date | None, today: datetime.date) -> bool:
    return expires is not None and expires < today


class _Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def file(self) -> str: ...


def label_waivers(
    labels: Mapping[str, str], known: frozenset[str]
) -> tuple[list[_Inline], list[str]]:
    """Inline waivers in a live container's labels (``harden.dev/waive.RULE``), and the
    problems of malformed ones (a live scan reports them; it does not stop)."""
    out, problems = [], []
    for key, text in sorted(labels.items()):
        rule = waiver_key(key)
        if rule is None:
            continue
        where = f"label {key}"
        if rule.upper() not in known:
            problems.append(f"{where}: inline waiver names no rule {rule!r}")
            continue
        try:
            reason, expires = parse_inline(text)
        except ValueError as exc:
            problems.append(f"{where}: inline waiver of {rule}: {exc}")
            continue
        out.append(_Inline(rule.upper(), reason, expires, where))
    return out, problems


def judge(state: _Named, finding: Finding, inline: list[_Inline], ctx: Accepting) -> Finding:
    """A failing finding, waived when an inline waiver, a policy waiver or the baseline
    accepts it (marked when the waiver that would have accepted it expired)."""
    rule = finding.rule.id
    expired_by = ""
    for own in (w for w in inline if w.rule == rule):
        if not _expired(own.expires, ctx.today):
            iso = own.expires.isoformat() if own.expires else ""
            return _waived(finding, Accepted(Acceptance.INLINE, own.reason, "", iso, own.where))
        expired_by = f"{own.where}: inline waiver of {rule} expired on {own.expires} ({own.reason})"
    for waiver in ctx.policy.waivers:
        if waiver.matches(rule, state.name, state.file):
            ctx.used.add(waiver)
            if not _expired(waiver.expires, ctx.today):
                accepted = Accepted(
                    Acceptance.WAIVER,
                    waiver.reason,
                    waiver.owner,
                    waiver.expires.isoformat(),
                    waiver.where,
                )
                return _waived(finding, accepted)
            expired_by = expired_by or (
                f"{waiver.where}: waiver of {rule} on {state.name} expired on {waiver.expires} "
                f"({waiver.reason}; owner {waiver.owner})"
            )
    if expired_by:
        ctx.expired.append(expired_by)
        return dataclasses.replace(
            finding, message=f"{finding.message} [waiver expired: {expired_by}]"
        )
    if ctx.baseline and fingerprint_of(rule, state.name, state.file) in ctx.baseline:
        accepted = Accepted(
            Acceptance.BASELINE, "accepted in the baseline", where=ctx.baseline_name
        )
        return _waived(finding, accepted)
    return finding


def _waived(finding: Finding, accepted: Accepted) -> Finding:
    return dataclasses.replace(finding, status=Status.WAIVED, accepted=accepted)


def accept(results: Results, ctx: Accepting, known: frozenset[str]) -> Results:
    """The results with accepted failures waived; inline-waiver problems raise, per file."""
    out: Results = []
    problems: dict[str, list[Problem]] = {}
    anything = bool(ctx.policy.waivers or ctx.baseline)
    for state, findings in results:
        if not anything and not state.waivers:
            out.append((state, findings))  # nothing could accept these failures
            continue
        inline, found = inline_waivers(state, known)
        if found:
            problems.setdefault(state.file, []).extend(found)
        judged = tuple(
            judge(state, f, inline, ctx) if f.status is Status.FAIL else f for f in findings
        )
        out.append((state, judged))
    if problems:
        source, first = next(iter(problems.items()))
        raise FileProblems(
            source,
            _unique(first),
            hint="write it as harden.dev/waive.RULE-ID: '[expires=YYYY-MM-DD;] reason'",
        )
    return out


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
