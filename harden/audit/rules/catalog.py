"""The catalogue of rule packs: loaded strictly once, then from the validated cache.

A strict load (YAML with lines, pydantic, every reference checked) happens when a pack
changed since the last run; otherwise the validated packs come from the cache
(:mod:`.cache`) and only their CEL is compiled again.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from harden.audit.rules import cache
from harden.audit.rules.expressions import compile_rewritten
from harden.audit.rules.model import (
    Catalog,
    Compiled,
    Mode,
    ReferenceItem,
    References,
    Remediation,
    Rule,
    RulePack,
    Severity,
)
from harden.audit.state.model import TargetKind
from harden.errors import Problem
from harden.resources import data_dir


def _programs(kind: TargetKind, condition: str, applies_if: str, evidence: str) -> Compiled:
    problems: list[Problem] = []
    texts = (("condition", condition), ("applies_if", applies_if), ("evidence", evidence))
    programs = [compile_rewritten(text, kind, field, None, problems) for field, text in texts]
    if problems:
        raise ValueError(problems[0].message)
    return Compiled(*programs)


def to_data(catalog: Catalog) -> dict[str, Any]:
    """The validated catalog as JSON-ready data (the cache stores it)."""
    packs = []
    for pack in catalog.packs:
        rules = []
        for rule in pack.rules:
            data = asdict(replace(rule, compiled=Compiled(None, None, None), examples=()))
            data.pop("compiled")
            data["examples"] = []  # only the test suite runs examples: it loads strictly
            rules.append(data)
        packs.append({**asdict(replace(pack, rules=())), "rules": rules})
    references = {
        k: {i: asdict(v) for i, v in items.items()} for k, items in catalog.references.items()
    }
    return {"packs": packs, "references": references, "documents": dict(catalog.documents)}


def from_data(data: dict[str, Any]) -> Catalog:
    """The inverse of :func:`to_data` (without examples); CEL is compiled again here."""
    packs = []
    for pack in data["packs"]:
        rules = []
        for raw in pack["rules"]:
            target = TargetKind(raw["target"])
            programs = _programs(target, raw["condition"], raw["applies_if"], raw["evidence"])
            fields = {
                **raw,
                "target": target,
                "severity": Severity(raw["severity"]),
                "mode": Mode(raw["mode"]),
                "remediation": Remediation(**raw["remediation"]),
                "references": References(**{k: tuple(v) for k, v in raw["references"].items()}),
                "facts": tuple(raw["facts"]),
                "examples": (),
                "compiled": programs,
            }
            rules.append(Rule(**fields))
        packs.append(
            RulePack(**{**pack, "target": TargetKind(pack["target"]), "rules": tuple(rules)})
        )
    references = {
        k: {i: ReferenceItem(**v) for i, v in items.items()}
        for k, items in data["references"].items()
    }
    return Catalog(tuple(packs), references, dict(data["documents"]))


@functools.cache
def load_catalog(directory: Path | None = None) -> Catalog:
    """Every pack in ``directory`` (default: the shipped ``audit/``), once per process.

    A strict load (YAML with lines, pydantic) happens when the packs changed since the
    last run; otherwise the validated packs come from the cache (:mod:`.cache`).
    """
    folder = directory or data_dir("audit")
    files = [folder / "references.yaml", *sorted((folder / "packs").glob("*.yaml"))]
    try:
        key = cache.fingerprint(files)
    except OSError:
        return _strict(folder)  # reports the unreadable file with its name
    cached = cache.read(key)
    if cached is not None:
        try:
            return from_data(cached)
        except (KeyError, TypeError, ValueError):
            pass  # a cache from elsewhere: validate again
    catalog = _strict(folder)
    cache.write(key, to_data(catalog))
    return catalog


def _strict(folder: Path) -> Catalog:
    from harden.audit.rules import loader  # noqa: PLC0415 - only when the packs changed

    return loader.load_strict(folder)
