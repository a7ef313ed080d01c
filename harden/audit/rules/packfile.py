"""The YAML schema of rule packs and of ``audit/references.yaml`` (strict pydantic models).

Only the loader imports this module, and only when packs are read from YAML.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harden.audit.rules.model import Mode, Severity
from harden.audit.state.model import TargetKind


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RemediationIn(_Strict):
    docker: str = Field(min_length=1)
    compose: str = Field(min_length=1)
    kubernetes: str = Field(min_length=1)


class ReferencesIn(_Strict):
    cis: tuple[str, ...] = ()
    nist: tuple[str, ...] = ()
    pss: tuple[str, ...] = ()


class ExamplesIn(_Strict):
    fail: tuple[dict[str, Any], ...] = ()
    pass_: tuple[dict[str, Any], ...] = Field(default=(), alias="pass")
    manual: tuple[dict[str, Any], ...] = ()


_FIX_OPS = ("set", "unset", "add", "remove", "keep")
FIELD_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"


class FixStepIn(_Strict):
    """One step of a mechanical fix: exactly one of set, unset, add, remove, keep."""

    set: str | None = Field(default=None, pattern=FIELD_PATH)
    unset: str | None = Field(default=None, pattern=FIELD_PATH)
    add: str | None = Field(default=None, pattern=FIELD_PATH)
    remove: str | None = Field(default=None, pattern=FIELD_PATH)
    keep: str | None = Field(default=None, pattern=FIELD_PATH)
    to: Any = None
    items: tuple[str, ...] = ()
    matching: str = ""
    scope: str = Field(default="container", pattern=r"^(container|pod)$")
    capabilities: bool = False

    @model_validator(mode="after")
    def _one_op(self) -> FixStepIn:
        ops = [op for op in _FIX_OPS if getattr(self, op) is not None]
        if len(ops) != 1:
            raise ValueError(f"a step has exactly one of {', '.join(_FIX_OPS)}")
        op = ops[0]
        if (op == "set") != ("to" in self.model_fields_set):
            raise ValueError("'to' goes with set, and set needs it")
        if op in ("add", "keep") and not self.items:
            raise ValueError(f"{op} needs items")
        if op == "remove" and not (self.items or self.matching):
            raise ValueError("remove needs items or matching")
        if self.matching:
            if op != "remove":
                raise ValueError("matching goes with remove")
            try:
                re.compile(self.matching)
            except re.error as exc:
                raise ValueError(f"matching is not a regular expression: {exc}") from None
        if self.items and op not in ("add", "remove", "keep"):
            raise ValueError("items go with add, remove and keep")
        return self

    @property
    def op(self) -> str:
        return next(op for op in _FIX_OPS if getattr(self, op) is not None)

    @property
    def path(self) -> str:
        value: str = getattr(self, self.op)
        return value


class FixIn(_Strict):
    like: str = Field(default="", pattern=r"^([A-Z]{2,6}-\d{3})?$")
    kubernetes: tuple[FixStepIn, ...] = ()
    compose: tuple[FixStepIn, ...] = ()

    @model_validator(mode="after")
    def _like_alone(self) -> FixIn:
        if self.like and (self.kubernetes or self.compose):
            raise ValueError("like names another rule's fix: give no steps with it")
        if not self.like and not (self.kubernetes or self.compose):
            raise ValueError("a fix needs steps for kubernetes or compose (or like)")
        if any(s.scope == "pod" for s in self.compose):
            raise ValueError("scope pod is for kubernetes steps")
        return self


class RuleIn(_Strict):
    id: str = Field(pattern=r"^[A-Z]{2,6}-\d{3}$")
    title: str = Field(min_length=10, max_length=120)
    severity: Severity
    mode: Mode = Mode.AUTOMATED
    condition: str = ""
    applies_if: str = ""
    evidence: str = ""
    rationale: str = Field(min_length=20)
    remediation: RemediationIn
    references: ReferencesIn
    since: str = Field(default="", pattern=r"^(v1\.\d{1,2})?$")
    covers: tuple[str, ...] = ()  # rules whose failure this rule's failure already explains
    fix: FixIn | None = None  # the mechanical fix `harden fix` applies
    examples: ExamplesIn


class PackIn(_Strict):
    pack: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = Field(min_length=5)
    version: int = Field(ge=1)
    target: TargetKind
    default: bool = True
    description: str = Field(min_length=10)
    rules: tuple[RuleIn, ...]


class ReferenceItemIn(_Strict):
    title: str = Field(min_length=3)
    manual: bool = False


class ReferenceDocIn(_Strict):
    document: str
    items: dict[str, ReferenceItemIn]


class ReferencesFileIn(_Strict):
    cis: ReferenceDocIn
    nist: ReferenceDocIn
    pss: ReferenceDocIn
