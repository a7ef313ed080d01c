"""The CEL variables of one target, built from its facts (and of hand-written examples)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harden.audit.state.facts import FACTS, VIEW_NAME
from harden.audit.state.model import Fact, Layer, TargetKind, TargetState

View = dict[str, Any]


def flatten(kind: TargetKind, nested: Mapping[str, Any]) -> dict[str, Any]:
    """``{"caps": {"bounding": [..]}}`` -> ``{"caps.bounding": [..]}`` for the registered
    facts of ``kind`` (examples use it)."""
    out: dict[str, Any] = {}
    for path in FACTS[kind]:
        node: Any = nested
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
        else:
            out[path] = node
    return out


MISSING: Any = object()


def cel_name(reference: str) -> str:
    """The flat CEL identifier of ``declared.caps.bounding``: ``declared__caps__bounding``.

    Rule expressions are rewritten to flat identifiers when packs load: the CEL runtime
    converts nested maps again on every field access (~100 us for a map holding a short
    list), but top-level variables only once, when the context is built.
    """
    return reference.replace(".", "__")


def known_flag(path: str) -> str:
    return f"effective__{path.replace('.', '__')}__known"


def merged_expression(kind: TargetKind, path: str) -> str:
    """What ``container.<path>`` compiles to: the effective value if known, else declared.

    Choosing in CEL (rather than passing a merged copy) converts each value into the CEL
    context once instead of twice: strings cost ~3 us each to convert here.
    """
    layers = FACTS[kind][path].layers
    declared, effective = cel_name(f"declared.{path}"), cel_name(f"effective.{path}")
    if Layer.EFFECTIVE not in layers:
        return declared
    if Layer.DECLARED not in layers:
        return effective
    return f"({known_flag(path)} ? {effective} : {declared})"


@dataclass(frozen=True)
class Values:
    """The fact values of one target (or of a rule's example), per layer."""

    kind: TargetKind
    declared: Mapping[str, Any]
    effective: Mapping[str, Any]

    @classmethod
    def of(cls, state: TargetState) -> Values:
        return cls(
            state.kind,
            {p: f.value for p, f in state.declared.items()},
            {p: f.value for p, f in state.effective.items()},
        )

    @classmethod
    def example(
        cls,
        kind: TargetKind,
        view: Mapping[str, Any],
        declared: Mapping[str, Any],
        effective: Mapping[str, Any],
    ) -> Values:
        """From nested maps; a merged-view value lands in the layer that can hold it."""
        flat_d, flat_e = flatten(kind, declared), flatten(kind, effective)
        for path, value in flatten(kind, view).items():
            if Layer.EFFECTIVE in FACTS[kind][path].layers:
                flat_e[path] = value
            else:
                flat_d[path] = value
        return cls(kind, flat_d, flat_e)

    def get(self, reference: str) -> Any:
        """The value behind ``container.caps.bounding`` (or ``declared...``), or MISSING."""
        variable, _, path = reference.partition(".")
        if variable == Layer.DECLARED:
            return self.declared.get(path, MISSING)
        if variable == Layer.EFFECTIVE:
            return self.effective.get(path, MISSING)
        return self.effective.get(path, self.declared.get(path, MISSING))

    def variables(self, references: Iterable[str]) -> View:
        """The flat CEL variables the given references need (missing facts left out)."""
        out: View = {}
        declared, effective = self.declared, self.effective
        for mode, path, name, flag in _plan(self.kind, frozenset(references)):
            if mode in (_DECLARED, _EFFECTIVE):
                layer = declared if mode == _DECLARED else effective
                if path in layer:
                    out[name] = layer[path]
            elif path in effective and mode != _MERGED_DECLARED:
                out[cel_name(f"effective.{path}")] = effective[path]
                if flag:
                    out[flag] = True
            else:
                if flag:
                    out[flag] = False
                if path in declared:
                    out[cel_name(f"declared.{path}")] = declared[path]
        return out


_DECLARED, _EFFECTIVE, _MERGED, _MERGED_DECLARED = 0, 1, 2, 3


@functools.lru_cache(maxsize=32)
def _plan(kind: TargetKind, references: frozenset[str]) -> tuple[tuple[int, str, str, str], ...]:
    """(mode, fact path, CEL name, known-flag name) per reference, computed once per rule set."""
    plan = []
    for reference in sorted(references):
        variable, _, path = reference.partition(".")
        if variable in (Layer.DECLARED.value, Layer.EFFECTIVE.value):
            mode = _DECLARED if variable == Layer.DECLARED.value else _EFFECTIVE
            plan.append((mode, path, cel_name(reference), ""))
            continue
        layers = FACTS[kind][path].layers
        flag = known_flag(path) if len(layers) == 2 else ""
        mode = _MERGED if Layer.EFFECTIVE in layers else _MERGED_DECLARED
        plan.append((mode, path, "", flag))
    return tuple(plan)


def lookup(state: TargetState, reference: str) -> Fact | None:
    """The fact behind ``container.caps.bounding`` / ``declared...`` / ``effective...``."""
    variable, _, path = reference.partition(".")
    if variable == VIEW_NAME[state.kind]:
        return state.fact(path)
    return state.layer(Layer(variable)).get(path)
