"""Turning pydantic validation errors into located, readable problems."""

from __future__ import annotations

from pydantic import ValidationError

from harden.errors import Problem
from harden.system.yaml import Located


def field_path(loc: tuple[str | int, ...]) -> str:
    """``('capabilities', 0, 'name')`` -> ``capabilities[0].name``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _clean_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    # pydantic inserts validator/union tags (e.g. 'function-after[...]', 'str') into locations
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in p and p not in _TAGS))


_TAGS = {"str", "int", "bool", "float", "dict", "list", "tuple", "list[str]", "none"}


def _message(err: dict[str, object]) -> str:
    kind = err.get("type")
    msg = str(err.get("msg", "invalid"))
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    return msg.removeprefix("Value error, ")


def problems_from_validation(exc: ValidationError, located: Located) -> list[Problem]:
    """One :class:`Problem` per pydantic error, with the YAML/JSON line of the field."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]))
        path = field_path(loc)
        message = _message(dict(err))
        if (path, message) in seen:
            continue
        seen.add((path, message))
        problems.append(Problem(message, field=path, line=located.line_of(loc)))
    return problems
