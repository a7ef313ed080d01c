"""Loading rule packs: strict YAML, CEL compiled once, every fact reference checked.

A pack that names an unknown fact, uses ``has()``, cites an unknown CIS/NIST/PSS item,
fails to compile or lacks pass/fail examples is refused with the file, line and field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden.audit import cache, celrt
from harden.audit.model import (
    Compiled,
    Example,
    Mode,
    References,
    Remediation,
    Rule,
    RulePack,
    Severity,
    Status,
)
from harden.data import data_dir
from harden.errors import FileProblems, Problem
from harden.state.facts import FACTS, VIEW_NAME, groups, spec_for
from harden.state.model import Layer, TargetKind
from harden.state.view import Values, cel_name, merged_expression

if TYPE_CHECKING:
    from harden.yamlsrc import Located

_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_REFERENCE = re.compile(r"(?<![\w.])([a-z_]+)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_HAS = re.compile(r"(?<![\w.])has\s*\(")
_VARIABLES = ("container", "host", Layer.DECLARED.value, Layer.EFFECTIVE.value)


@dataclass(frozen=True)
class ReferenceItem:
    title: str
    manual: bool


@dataclass(frozen=True)
class Catalog:
    """Every loaded pack, and the reference documents their rules cite."""

    packs: tuple[RulePack, ...]
    references: Mapping[str, Mapping[str, ReferenceItem]]  # "cis" -> "5.3" -> item
    documents: Mapping[str, str]  # "cis" -> "CIS Docker Benchmark v1.6.0"

    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for p in self.packs for r in p.rules)

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules() if r.id == rule_id.upper()), None)


def _validated(model: type[Any], doc: Located) -> Any:
    from pydantic import ValidationError  # noqa: PLC0415

    from harden.validation import problems_from_validation  # noqa: PLC0415

    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise FileProblems(doc.source, problems_from_validation(exc, doc)) from None


def load_references(path: Path) -> tuple[dict[str, dict[str, ReferenceItem]], dict[str, str]]:
    from harden.audit.packfile import ReferencesFileIn  # noqa: PLC0415
    from harden.yamlsrc import load_single  # noqa: PLC0415

    parsed = _validated(ReferencesFileIn, load_single(path, what="reference list"))
    refs: dict[str, dict[str, ReferenceItem]] = {}
    docs: dict[str, str] = {}
    for kind in ("cis", "nist", "pss"):
        doc = getattr(parsed, kind)
        docs[kind] = doc.document
        refs[kind] = {k: ReferenceItem(v.title, v.manual) for k, v in doc.items.items()}
    return refs, docs


def _mask_strings(expression: str) -> str:
    """The expression with string literal contents blanked, positions unchanged."""
    return _STRINGS.sub(
        lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], expression
    )


def fact_references(expression: str) -> list[tuple[str, str, int]]:
    """``(variable, dotted path, offset)`` for every fact-looking reference outside strings."""
    code = _mask_strings(expression)
    return [
        (m.group(1), m.group(2)[1:], m.start())
        for m in _REFERENCE.finditer(code)
        if m.group(1) in _VARIABLES
    ]


def rewrite(expression: str, kind: TargetKind) -> str:
    """Fact references as flat CEL identifiers (see :func:`harden.state.view.cel_name`)."""
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


def _check_reference(kind: TargetKind, variable: str, path: str) -> tuple[str | None, str]:
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


def _compile(
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


def _unknown_paths(kind: TargetKind, nested: Any, prefix: str = "") -> list[str]:
    if not isinstance(nested, dict):
        return [prefix or "(example)"]
    out = []
    for key, value in nested.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if path in FACTS[kind]:
            continue
        if path in groups(kind):
            out.extend(_unknown_paths(kind, value, path))
        else:
            out.append(path)
    return out


def _example(kind: TargetKind, raw: Mapping[str, Any]) -> tuple[Values, list[str]]:
    """The fact values of an example target, and any unknown keys it uses."""
    view = VIEW_NAME[kind]
    problems = [
        f"unknown key {k!r} (use {view}, declared, effective)"
        for k in raw
        if k not in (view, "declared", "effective")
    ]
    for key in (view, "declared", "effective"):
        problems += [f"unknown fact {key}.{p}" for p in _unknown_paths(kind, raw.get(key, {}))]
    values = Values.example(
        kind, raw.get(view, {}), raw.get("declared", {}), raw.get("effective", {})
    )
    return values, problems


@dataclass(frozen=True)
class _Place:
    """Where one rule sits in its pack file, for located problems."""

    doc: Located
    index: int

    @property
    def where(self) -> str:
        return f"rules[{self.index}]"

    def line(self, *path: str | int) -> int | None:
        return self.doc.line_of(("rules", self.index, *path))

    def problem(self, message: str, field: str = "", *path: str | int) -> Problem:
        return Problem(message, f"{self.where}.{field}" if field else self.where, self.line(*path))


def _expressions(
    raw: Any, kind: TargetKind, at: _Place, problems: list[Problem]
) -> tuple[set[str], dict[str, Any]]:
    """The facts the rule's expressions read, and the compiled programs."""
    facts: set[str] = set()
    compiled = {}
    for field in ("condition", "applies_if", "evidence"):
        text = getattr(raw, field)
        if _HAS.search(_mask_strings(text)):
            message = "has() is not allowed: a missing fact must make the rule unknown, never pass"
            problems.append(at.problem(message, field, field))
            continue
        for variable, path, _offset in fact_references(text):
            fact, message = _check_reference(kind, variable, path)
            if message:
                problems.append(at.problem(message, field, field))
            elif fact is not None:
                facts.add(f"{variable}.{fact}")
        compiled[field] = _compile(text, kind, f"{at.where}.{field}", at.line(field), problems)
    return facts, compiled


def _examples(raw: Any, kind: TargetKind, at: _Place, problems: list[Problem]) -> list[Example]:
    examples = []
    wanted = ("fail", "pass_") if raw.mode is Mode.AUTOMATED else ("manual",)
    for group in wanted:
        items = getattr(raw.examples, group)
        name = group.rstrip("_")
        if not items:
            problems.append(
                at.problem(f"needs at least one {name} example", "examples", "examples")
            )
        for i, item in enumerate(items):
            values, unknown = _example(kind, item)
            line = at.line("examples", name, i)
            problems += [Problem(m, f"{at.where}.examples.{name}[{i}]", line) for m in unknown]
            examples.append(Example(Status(name), values, line))
    return examples


def _rule(
    raw: Any, index: int, pack: Any, doc: Located, refs: Mapping[str, Mapping[str, ReferenceItem]]
) -> tuple[Rule | None, list[Problem]]:
    problems: list[Problem] = []
    at = _Place(doc, index)
    if raw.mode is Mode.AUTOMATED and not raw.condition:
        problems.append(at.problem("an automated rule needs a condition"))
    if raw.mode is Mode.MANUAL and (raw.condition or not raw.evidence):
        problems.append(at.problem("a manual rule has evidence and no condition"))
    facts, compiled = _expressions(raw, pack.target, at, problems)
    for kind in ("cis", "nist", "pss"):
        for item in getattr(raw.references, kind):
            if item not in refs[kind]:
                message = f"unknown {kind} reference {item!r}"
                problems.append(at.problem(message, f"references.{kind}", "references"))
    examples = _examples(raw, pack.target, at, problems)
    if problems:
        return None, problems
    rule = Rule(
        id=raw.id,
        pack=pack.pack,
        target=pack.target,
        title=raw.title,
        severity=raw.severity,
        mode=raw.mode,
        condition=raw.condition,
        applies_if=raw.applies_if,
        evidence=raw.evidence,
        rationale=raw.rationale.strip(),
        remediation=Remediation(**raw.remediation.model_dump()),
        references=References(raw.references.cis, raw.references.nist, raw.references.pss),
        facts=tuple(sorted(facts)),
        examples=tuple(examples),
        source=doc.source,
        line=at.line(),
        compiled=Compiled(compiled["condition"], compiled["applies_if"], compiled["evidence"]),
    )
    return rule, []


def load_pack(path: Path, refs: Mapping[str, Mapping[str, ReferenceItem]]) -> RulePack:
    from harden.audit.packfile import PackIn  # noqa: PLC0415
    from harden.yamlsrc import load_single  # noqa: PLC0415

    doc = load_single(path, what="rule pack")
    parsed = _validated(PackIn, doc)
    problems: list[Problem] = []
    if not parsed.rules:
        problems.append(Problem("a pack needs at least one rule", "rules", doc.line_of(("rules",))))
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(parsed.rules):
        if raw.id in seen:
            problems.append(
                Problem(
                    f"duplicate rule id {raw.id}",
                    f"rules[{index}].id",
                    doc.line_of(("rules", index, "id")),
                )
            )
        seen.add(raw.id)
        rule, found = _rule(raw, index, parsed, doc, refs)
        problems += found
        if rule is not None:
            rules.append(rule)
    if problems:
        raise FileProblems(str(path), problems)
    return RulePack(
        parsed.pack,
        parsed.title,
        parsed.version,
        parsed.target,
        parsed.description.strip(),
        tuple(rules),
        str(path),
    )


def _compiled(rule: Rule) -> Rule:
    problems: list[Problem] = []
    programs = [
        _compile(text, rule.target, field, rule.line, problems)
        for field, text in (
            ("condition", rule.condition),
            ("applies_if", rule.applies_if),
            ("evidence", rule.evidence),
        )
    ]
    if problems:
        raise ValueError(problems[0].message)
    return replace(rule, compiled=Compiled(*programs))


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
            rule = Rule(
                **{
                    **raw,
                    "target": TargetKind(raw["target"]),
                    "severity": Severity(raw["severity"]),
                    "mode": Mode(raw["mode"]),
                    "remediation": Remediation(**raw["remediation"]),
                    "references": References(**{k: tuple(v) for k, v in raw["references"].items()}),
                    "facts": tuple(raw["facts"]),
                    "examples": (),
                    "compiled": Compiled(None, None, None),
                }
            )
            rules.append(_compiled(rule))
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
        return load_strict(folder)  # reports the unreadable file with its name
    cached = cache.read(key)
    if cached is not None:
        try:
            return from_data(cached)
        except (KeyError, TypeError, ValueError):
            pass  # a cache from elsewhere: validate again
    catalog = load_strict(folder)
    cache.write(key, to_data(catalog))
    return catalog


def load_strict(folder: Path) -> Catalog:
    """Every pack in ``folder``, validated from YAML (no cache)."""
    refs, docs = load_references(folder / "references.yaml")
    packs = tuple(load_pack(p, refs) for p in sorted((folder / "packs").glob("*.yaml")))
    ids: dict[str, str] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.id in ids:
                raise FileProblems(
                    pack.source,
                    [
                        Problem(
                            f"rule id {rule.id} is also used in {ids[rule.id]}", "rules", rule.line
                        )
                    ],
                )
            ids[rule.id] = pack.source
    return Catalog(packs, refs, docs)
