"""Reading ``capabilities.json`` back (it may have been edited by hand)."""

from __future__ import annotations

from typing import Any

from harden.errors import FileProblems, Problem
from harden.kernel import capabilities as capmod


def parse_capabilities(doc: Any, source: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The names (in kernel order) and reasons of a capabilities.json document; every
    name must be a capability of the kernel's table."""
    add = doc.get("add") if isinstance(doc, dict) else None
    if not isinstance(add, list):
        raise FileProblems(source, [Problem("'add' must be a list of capability names", "add")])
    keep = set()
    for i, name in enumerate(add):
        canonical = capmod.normalise(name) if isinstance(name, str) else None
        if canonical is None:
            raise FileProblems(source, [Problem(f"unknown capability {name!r}", f"add[{i}]")])
        keep.add(canonical)
    found = doc.get("reasons")
    reasons = {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
    return tuple(c for c in capmod.CAPABILITIES if c in keep), reasons
