"""Checking ``userns.json``: its shape (a JSON Schema of the plan) and its ranges.

The tenants' /etc/subuid lines are read back with the pool reader, which refuses
ranges that overlap, leave the 32-bit ID space or hold host root (ID 0); the OCI
mappings must map the same range for UIDs and GIDs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from harden.errors import FileProblems, HardenError, Problem
from harden.layers.interface import Checked, Verdict, judge
from harden.layers.userns.parse import parse_pool
from harden.layers.userns.render import USERNS_FILE
from harden.system.yaml import parse_json

CHECKER = "schema+ranges"
SCHEMA = Path(__file__).with_name("userns.schema.json")


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA.read_text()))


def _check(text: str) -> Checked:
    doc: Any = parse_json(text, USERNS_FILE)
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        raise HardenError("; ".join(f"{_where(e.absolute_path)}: {e.message}" for e in errors[:5]))
    tenants = doc["tenants"]
    for i, tenant in enumerate(tenants):
        mappings = tenant["oci"]
        if mappings["uidMappings"] != mappings["gidMappings"]:
            raise HardenError(f"tenants/{i}: uidMappings and gidMappings differ")
        if tenant["subuid"] != tenant["subgid"]:
            raise HardenError(f"tenants/{i}: subuid and subgid differ")
    lines = "".join(f"{t['subuid']}\n" for t in tenants)
    try:
        pool = parse_pool(lines, USERNS_FILE)
    except FileProblems as exc:
        raise HardenError("; ".join(_problem(p) for p in exc.problems)) from None
    detail = f"{len(tenants)} range(s) of {pool.size} IDs; none overlaps or holds host root"
    return Checked(USERNS_FILE, CHECKER, Verdict.OK, detail)


def _where(path: Iterable[object]) -> str:
    return "/".join(str(p) for p in path) or "(top)"


def _problem(problem: Problem) -> str:
    return f"tenants/{(problem.line or 1) - 1}: {problem.message}"


def check(files: Mapping[str, bytes], host: object) -> list[Checked]:
    if USERNS_FILE not in files:
        return []
    return [
        judge(USERNS_FILE, CHECKER, lambda: _check(files[USERNS_FILE].decode(errors="replace")))
    ]
