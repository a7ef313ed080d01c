"""Rules, packs and findings: the closed sets and frozen records of the audit."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harden.audit.rules.versions import NEWEST, Version
from harden.audit.state.model import TargetKind
from harden.audit.state.view import Values


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for info: larger is worse."""
        return _RANK[self]

    @property
    def penalty(self) -> int:
        """What each failure of this severity takes from a target's score."""
        return _PENALTY[self]

    @property
    def ceiling(self) -> int:
        """The highest score a target with a failure of this severity can have."""
        return _CEILING[self]


_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
_PENALTY = {
    Severity.CRITICAL: 40,
    Severity.HIGH: 20,
    Severity.MEDIUM: 8,
    Severity.LOW: 2,
    Severity.INFO: 0,
}
_CEILING = {
    Severity.CRITICAL: 39,
    Severity.HIGH: 69,
    Severity.MEDIUM: 89,
    Severity.LOW: 99,
    Severity.INFO: 100,
}


class Status(enum.StrEnum):
    FAIL = "fail"  # the risk is present
    PASS = "pass"  # noqa: S105 - a status, not a password; the facts the rule needs were read, and the risk is absent
    WAIVED = "waived"  # failed, but accepted by a policy waiver, an inline waiver or the baseline
    ERROR = "error"  # unknown: a fact could not be read (the reason says why)
    SKIPPED = "skipped"  # not applicable, or the source cannot know what the rule needs
    MANUAL = "manual"  # a person must judge; the evidence is collected


class Mode(enum.StrEnum):
    AUTOMATED = "automated"
    MANUAL = "manual"


@dataclass(frozen=True)
class Remediation:
    docker: str
    compose: str
    kubernetes: str


class FixOp(enum.StrEnum):
    """What one step of a mechanical fix does to the container's (or service's) fields."""

    SET = "set"  # set the field at the path to ``value`` (maps on the way are created)
    UNSET = "unset"  # remove the field at the path (nothing when it is absent)
    ADD = "add"  # append ``items`` missing from the list at the path (created if absent)
    REMOVE = "remove"  # remove the list's entries among ``items`` or matching ``matching``
    KEEP = "keep"  # keep only the list's entries among ``items``


class FixScope(enum.StrEnum):
    CONTAINER = "container"  # Kubernetes: the container entry; compose: the service
    POD = "pod"  # Kubernetes: the pod spec the container is in


@dataclass(frozen=True)
class FixStep:
    op: FixOp
    path: tuple[str, ...]  # keys from the scope: ("securityContext", "privileged")
    value: Any = None  # set: the new value
    items: tuple[str, ...] = ()  # add, remove, keep (constants written out by the loader)
    matching: str = ""  # remove: a regular expression an entry must match in full
    scope: FixScope = FixScope.CONTAINER
    capabilities: bool = False  # entries are capability names: CAP_ prefix and case ignored


@dataclass(frozen=True)
class Fix:
    """A rule's mechanical fix: steps per input kind that ``harden fix`` applies to the
    target a failing finding is about (empty: no mechanical fix for that kind)."""

    kubernetes: tuple[FixStep, ...] = ()
    compose: tuple[FixStep, ...] = ()
    like: str = ""  # as written: the rule whose fix this is (the loader copies it in)


@dataclass(frozen=True)
class References:
    cis: tuple[str, ...] = ()  # CIS Docker Benchmark v1.6.0 recommendation numbers
    nist: tuple[str, ...] = ()  # NIST SP 800-190 sections
    pss: tuple[str, ...] = ()  # Pod Security Standards controls ("baseline/capabilities")


@dataclass(frozen=True)
class Example:
    expect: Status
    values: Values  # the example target's facts
    line: int | None
    kubernetes: Version = NEWEST  # the version the example is judged as of


@dataclass(frozen=True)
class Flat:
    """A rule's expressions as the CEL runtime compiles them: fact references flattened
    and constants written out by the loader (:func:`harden.audit.rules.cel.flatten`),
    compiled by the evaluator. '' means the rule has no such expression."""

    condition: str = ""
    applies_if: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    pack: str
    target: TargetKind
    title: str
    severity: Severity
    mode: Mode
    condition: str
    applies_if: str
    evidence: str
    rationale: str
    remediation: Remediation
    references: References
    facts: tuple[str, ...]  # every fact the expressions read, as "container.caps.bounding"
    examples: tuple[Example, ...]
    source: str
    line: int | None
    since: str = ""  # the Kubernetes version the control applies from ("v1.19"; PSS packs)
    covers: tuple[str, ...] = ()  # rule ids whose failures this rule's failure explains
    flat: Flat = Flat()  # what the evaluator compiles (empty for rules read from reports)
    fix: Fix = Fix()  # what ``harden fix`` changes when the rule fails


@dataclass(frozen=True)
class RulePack:
    id: str
    title: str
    version: int
    target: TargetKind
    description: str
    rules: tuple[Rule, ...]
    source: str
    default: bool = True  # run when no pack is chosen (opt-in packs say false)


@dataclass(frozen=True, slots=True)
class Evidence:
    fact: str  # "container.caps.bounding"
    value: Any  # None when the fact is missing
    origin: str  # where the value came from, or why it is missing
    line: int | None = None  # static inputs: the line of the field in the target's file


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    status: Status
    message: str = ""  # why (error, skipped), or what was found (fail)
    evidence: tuple[Evidence, ...] = ()
    detail: Any = None  # the rule's evidence expression, evaluated (fail, manual)
    accepted: Accepted | None = None  # waived: by what, why, until when


class Acceptance(enum.StrEnum):
    """How a failing finding was accepted (its status is then WAIVED)."""

    WAIVER = "waiver"  # a waiver in the policy file
    INLINE = "inline"  # a waiver annotation / label in the input itself
    BASELINE = "baseline"  # the baseline file of accepted findings


@dataclass(frozen=True, slots=True)
class Accepted:
    how: Acceptance
    reason: str
    owner: str = ""
    expires: str = ""  # YYYY-MM-DD, '' = no end date
    where: str = ""  # the policy file / annotation that accepted it (file:line)


@dataclass(frozen=True)
class ReferenceItem:
    title: str
    manual: bool


@dataclass(frozen=True)
class Catalog:
    """Every loaded pack, and the reference documents their rules cite."""

    packs: tuple[RulePack, ...]
    references: Mapping[str, Mapping[str, ReferenceItem]]  # "cis" -> "5.3" -> item
    documents: Mapping[str, str]  # "cis" -> "CIS Docker Benchmark v1.6.0"

    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for p in self.packs for r in p.rules)

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules() if r.id == rule_id.upper()), None)
