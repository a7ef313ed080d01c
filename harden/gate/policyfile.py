"""The policy file's schema (strict pydantic); ``audit/policy.schema.json`` is generated from it."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from harden.audit.rules import versions

FailOn = Literal["critical", "high", "medium", "low", "info", "never"]
RULE_PATTERN = r"^[A-Za-z0-9*?\[\]-]+$"


def _date_only(value: Any) -> Any:
    """A date is a YAML date or YYYY-MM-DD text, never a number (pydantic would read 0 as
    1970-01-01, a timestamp)."""
    if isinstance(value, datetime.date | str):
        return value
    raise ValueError("must be a date, YYYY-MM-DD")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WaiverIn(_Strict):
    """One accepted risk: failing findings of ``rule`` on matching targets become waived."""

    rule: str = Field(pattern=RULE_PATTERN, description="rule id, or a glob such as NET-*")
    target: str = Field(
        default="*",
        min_length=1,
        description="glob on the target name (Deployment/prod/web/nginx, compose/shop/db)",
    )
    file: str = Field(default="*", min_length=1, description="glob on the input file path")
    reason: str = Field(min_length=3, description="why the risk is accepted")
    owner: str = Field(min_length=1, description="who accepted it (a person or team)")
    expires: Annotated[datetime.date, BeforeValidator(_date_only)] = Field(
        description="YYYY-MM-DD; after this day the waiver accepts nothing and fails the gate"
    )


class RulesIn(_Strict):
    only: tuple[str, ...] = Field(default=(), description="run only these rule ids or globs")
    exclude: tuple[str, ...] = Field(default=(), description="never run these rule ids or globs")


class PolicyIn(_Strict):
    """A harden gate policy (YAML)."""

    version: Literal[1] = Field(description="policy format version")
    packs: tuple[str, ...] = Field(
        default=("container", "pss-baseline"), description="rule packs to run"
    )
    rules: RulesIn = RulesIn()
    fail_on: FailOn = Field(
        default="high", description="fail when a rule of this severity or worse fails"
    )
    kubernetes_version: str = Field(
        default="",
        json_schema_extra={"pattern": r"^(v?1\.\d{1,2})?$"},  # checked by _known_version
        description=(
            f"the Kubernetes version whose Pod Security Standards apply ({versions.KNOWN}; "
            "default the newest): controls newer than it are not run, allowed sets follow it"
        ),
    )
    ignore_kinds: tuple[str, ...] = Field(
        default=(), description="custom kinds that run no containers (not scan problems)"
    )
    waivers: tuple[WaiverIn, ...] = ()
    baseline: str = Field(
        default="", description="baseline file of accepted findings, relative to this file"
    )

    @field_validator("kubernetes_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value:
            versions.parse(value)  # ValueError names the known range
        return value
