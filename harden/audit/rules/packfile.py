"""The YAML schema of rule packs and of ``audit/references.yaml`` (strict pydantic models).

Only the loader imports this module, and only when packs are read from YAML.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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
