"""Rule expressions: fact references found and checked, rewritten to flat CEL, compiled.

References are found outside string literals; each must name a registered fact that the
variable's layer can hold. The rewrite turns ``container.caps.bounding`` into the flat
identifiers the CEL context holds (see :mod:`harden.audit.state.view`).
"""

from __future__ import annotations

import re
from typing import Any

from harden.audit.rules import cel as celrt
from harden.audit.state.facts import FACTS, VIEW_NAME, groups, spec_for
from harden.audit.state.model import Layer, TargetKind
from harden.audit.state.view import cel_name, merged_expression
from harden.errors import Problem

_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_REFERENCE = re.compile(r"(?<![\w.])([a-z_]+)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
HAS = re.compile(r"(?<![\w.])has\s*\(")
_VARIABLES = ("container", "host", Layer.DECLARED.value, Layer.EFFECTIVE.value)


def mask_strings(expression: str) -> str:
    """The expression with string literal contents blanked, positions unchanged."""
    return _STRINGS.sub(
        lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], expression
    )


def fact_references(expression: str) -> list[tuple[str, str, int]]:
    """``(variable, dotted path, offset)`` for every fact-looking reference outside strings."""
    code = mask_strings(expression)
    return [
        (m.group(1), m.group(2)[1:], m.start())
        for m in _REFERENCE.finditer(code)
        if m.group(1) in _VARIABLES
    ]


def rewrite(expression: str, kind: TargetKind) -> str:
    """Fact references as flat CEL identifiers (see :func:`harden.audit.state.view.cel_name`)."""
    out = expression
    for variable, path, start in reversed(fact_references(expression)):
        spec = spec_for(kind, path)
        if spec is None:
            continue
        end = start + len(variable) + 1 + len(spec.path)
        name = (
            merged_expression(kind, spec.path)
            if variable == VIEW_NAME[kind]
            else cel_name(f"{variable}.{spec.path}")
        )
        out = out[:start] + name + out[end:]
    return out


_METHODS = frozenset(
    {
        "size",
        "exists",
        "exists_one",
        "all",
        "filter",
        "map",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
    }
)


def _unknown_fact(kind: TargetKind, variable: str, path: str) -> str:
    """Why ``variable.path`` names no fact, with the closest fact when there is one."""
    parts = path.split(".")
    known = [
        ".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in groups(kind)
    ]
    group = known[-1] if known else ""
    rest = parts[len(group.split(".")) if group else 0]
    if group and rest in _METHODS:
        members = sorted(p for p in FACTS[kind] if p.startswith(group + "."))
        return f"{variable}.{group} is a group; name a fact: {', '.join(members)}"
    wrong = f"{group}.{rest}" if group else rest
    import difflib  # noqa: PLC0415 - only for the error message

    close = difflib.get_close_matches(wrong, list(FACTS[kind]), n=1, cutoff=0.6)
    hint = f" (did you mean {variable}.{close[0]}?)" if close else ""
    return f"unknown fact {variable}.{wrong}{hint}"


def check_reference(kind: TargetKind, variable: str, path: str) -> tuple[str | None, str]:
    """(the fact's path or None, a problem message or '')."""
    view = VIEW_NAME[kind]
    if variable not in (view, Layer.DECLARED.value, Layer.EFFECTIVE.value):
        return (
            None,
            f"{variable!r} is not a variable of {kind} rules (use {view}, declared, effective)",
        )
    spec = spec_for(kind, path)
    if spec is None:
        return None, _unknown_fact(kind, variable, path)
    if variable != view and Layer(variable) not in spec.layers:
        return (
            None,
            f"{spec.path} is not a {variable} fact (it is {', '.join(sorted(spec.layers))})",
        )
    return spec.path, ""


def compile_rewritten(
    text: str, kind: TargetKind, where: str, line: int | None, problems: list[Problem]
) -> Any:
    if not text:
        return None
    try:
        return celrt.compile_expression(rewrite(text, kind))
    except (ValueError, RuntimeError) as exc:
        message = str(exc).split("ERROR: <input>:", 1)[-1].split("\n", 1)[0]
        problems.append(Problem(f"not a valid CEL expression: {message}", where, line))
        return None
