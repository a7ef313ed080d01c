"""harden's CEL dialect: fact references checked and flattened, constants written out, compiled.

A rule reads facts as ``container.caps.bounding`` (the merged view), ``declared.<fact>`` or
``effective.<fact>``, the lists harden keeps as data as ``capabilities.critical`` and
``capabilities.pss_baseline`` (from ``profiles/capabilities.yaml``), and the settings of
one run as ``kubernetes.minor`` (the Kubernetes version judged against, see
:mod:`.versions`). References are found outside string literals; each must name a
registered fact that the variable's layer can hold, or a known constant. :func:`flatten`
turns an expression into what the runtime compiles: fact references become the flat
identifiers the CEL context holds (see :mod:`harden.audit.state.view`) and constants
become list literals, so the per-target context never carries them. Run constants stay
as written until the evaluator compiles the rule for its run (:func:`bind`): the cached
packs are the same for every version.

The runtime is the ``common-expression-language`` package. ``import cel`` runs the
package's ``__init__``, which imports its interactive command line (typer,
prompt_toolkit): ~350 ms here, more than a whole 100-container audit. The compiled
extension ``cel.cel`` holds everything harden uses (``compile``, ``Context``), so it is
loaded directly from the installed package; plain ``import cel`` is the fallback.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from harden.audit.rules.versions import NEWEST, run_constants
from harden.audit.state.facts import FACTS, VIEW_NAME, groups, spec_for
from harden.audit.state.model import Layer, TargetKind
from harden.audit.state.view import cel_name, merged_expression
from harden.errors import Problem

_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_REFERENCE = re.compile(r"(?<![\w.])([a-z_]+)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
HAS = re.compile(r"(?<![\w.])has\s*\(")
CONSTANTS_VARIABLE = "capabilities"
RUN_VARIABLE = "kubernetes"
RUN_CONSTANTS = frozenset(run_constants(NEWEST))
_VARIABLES = ("container", "host", Layer.DECLARED.value, Layer.EFFECTIVE.value)

# Constants: "capabilities.critical" -> the list it stands for.
Constants = Mapping[str, tuple[str, ...]]


def constants() -> dict[str, tuple[str, ...]]:
    """The constants rules may read, from ``profiles/capabilities.yaml``."""
    from harden.profile.catalog import capability_facts  # noqa: PLC0415 - strict loads only

    facts = capability_facts().values()
    return {
        f"{CONSTANTS_VARIABLE}.critical": tuple(f.name for f in facts if f.risk == "critical"),
        f"{CONSTANTS_VARIABLE}.pss_baseline": tuple(f.name for f in facts if f.pss_baseline),
    }


def mask_strings(expression: str) -> str:
    """The expression with string literal contents blanked, positions unchanged."""
    return _STRINGS.sub(
        lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], expression
    )


def references(expression: str) -> list[tuple[str, str, int]]:
    """``(variable, dotted path, offset)`` for every fact or constant reference outside
    strings (the path runs on past the reference itself: ``caps.bounding.exists``)."""
    code = mask_strings(expression)
    return [
        (m.group(1), m.group(2)[1:], m.start())
        for m in _REFERENCE.finditer(code)
        if m.group(1) in _VARIABLES or m.group(1) in (CONSTANTS_VARIABLE, RUN_VARIABLE)
    ]


def _constant(path: str) -> str:
    return f"{CONSTANTS_VARIABLE}.{path.split('.', 1)[0]}"


def flatten(expression: str, kind: TargetKind, values: Constants) -> str:
    """The expression as the runtime compiles it (flat fact identifiers, literal constants)."""
    out = expression
    for variable, path, start in reversed(references(expression)):
        if variable == CONSTANTS_VARIABLE:
            name = _constant(path)
            if name in values:
                literal = json.dumps(list(values[name]))
                out = out[:start] + literal + out[start + len(name) :]
            continue
        spec = spec_for(kind, path) if variable != RUN_VARIABLE else None
        if spec is None:
            continue
        end = start + len(variable) + 1 + len(spec.path)
        flat = (
            merged_expression(kind, spec.path)
            if variable == VIEW_NAME[kind]
            else cel_name(f"{variable}.{spec.path}")
        )
        out = out[:start] + flat + out[end:]
    return out


def bind(text: str, run: Mapping[str, int]) -> str:
    """A flattened expression with its run constants (``kubernetes.minor``) written out."""
    out = text
    for variable, path, start in reversed(references(text)):
        if variable == RUN_VARIABLE:
            name = f"{variable}.{path}"
            out = out[:start] + str(run[name]) + out[start + len(name) :]
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


def check_reference(
    kind: TargetKind, variable: str, path: str, values: Constants
) -> tuple[str | None, str]:
    """(the fact's path, or None for a constant or a problem; a problem message or '')."""
    if variable == CONSTANTS_VARIABLE:
        name = _constant(path)
        if name not in values:
            return None, f"unknown constant {name} (known: {', '.join(sorted(values))})"
        return None, ""
    if variable == RUN_VARIABLE:
        name = f"{variable}.{path}"
        if name not in RUN_CONSTANTS:
            return None, f"unknown run constant {name} (known: {', '.join(sorted(RUN_CONSTANTS))})"
        return None, ""
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


def check_compiles(text: str, where: str, line: int | None, problems: list[Problem]) -> None:
    """Add a located problem when ``text`` (flattened) is not valid CEL."""
    if not text:
        return
    try:
        program(text)
    except (ValueError, RuntimeError) as exc:
        message = str(exc).split("ERROR: <input>:", 1)[-1].split("\n", 1)[0]
        problems.append(Problem(f"not a valid CEL expression: {message}", where, line))


@functools.cache
def program(text: str) -> Any:
    """The compiled program of a flattened expression (once per process and text); raises
    ValueError with the parser's message on bad syntax."""
    return runtime().compile(text)


def context(variables: dict[str, Any]) -> Any:
    try:
        return runtime().Context(variables)
    except ValueError:  # a string CEL cannot hold: a lone surrogate from a JSON escape
        return runtime().Context(_text_cel_holds(variables))


def _text_cel_holds(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings written as its escape (no rule
    compares with such text: a path or name that has one matches nothing it names)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_text_cel_holds(k): _text_cel_holds(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text_cel_holds(v) for v in value]
    return value


@functools.cache
def runtime() -> ModuleType:
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    spec = importlib.util.find_spec("cel")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = Path(location) / f"cel{suffix}"
            if candidate.is_file():
                loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(candidate))
                ext_spec = importlib.util.spec_from_file_location(
                    "cel.cel", candidate, loader=loader
                )
                if ext_spec is None:
                    continue
                module = importlib.util.module_from_spec(ext_spec)
                loader.exec_module(module)
                sys.modules["cel.cel"] = module  # a later `import cel` reuses it
                return module
    import cel  # noqa: PLC0415 - fallback: the package's own import

    return cel
