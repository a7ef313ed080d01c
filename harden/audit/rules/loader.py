"""Loading rule packs: strict YAML, CEL compiled once, every fact reference checked.

A pack that names an unknown fact, uses ``has()``, cites an unknown CIS/NIST/PSS item,
fails to compile or lacks pass/fail examples is refused with the file, line and field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden.audit.rules import versions
from harden.audit.rules.cel import (
    CONSTANTS_VARIABLE,
    HAS,
    Constants,
    check_compiles,
    check_reference,
    constants,
    flatten,
    mask_strings,
    references,
)
from harden.audit.rules.model import (
    Catalog,
    Example,
    Fix,
    FixOp,
    FixScope,
    FixStep,
    Flat,
    Mode,
    ReferenceItem,
    References,
    Remediation,
    Rule,
    RulePack,
    Status,
)
from harden.audit.rules.versions import NEWEST, Version
from harden.audit.state.facts import FACTS, VIEW_NAME, groups
from harden.audit.state.model import TargetKind
from harden.audit.state.view import Values
from harden.errors import FileProblems, Problem

if TYPE_CHECKING:
    from harden.system.yaml import Located


def _validated(model: type[Any], doc: Located) -> Any:
    from pydantic import ValidationError  # noqa: PLC0415

    from harden.system.validation import problems_from_validation  # noqa: PLC0415

    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise FileProblems(doc.source, problems_from_validation(exc, doc)) from None


def load_references(path: Path) -> tuple[dict[str, dict[str, ReferenceItem]], dict[str, str]]:
    from harden.audit.rules.packfile import ReferencesFileIn  # noqa: PLC0415
    from harden.system.yaml import load_single  # noqa: PLC0415

    parsed = _validated(ReferencesFileIn, load_single(path, what="reference list"))
    refs: dict[str, dict[str, ReferenceItem]] = {}
    docs: dict[str, str] = {}
    for kind in ("cis", "nist", "pss"):
        doc = getattr(parsed, kind)
        docs[kind] = doc.document
        refs[kind] = {k: ReferenceItem(v.title, v.manual) for k, v in doc.items.items()}
    return refs, docs


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


def _example(kind: TargetKind, raw: Mapping[str, Any]) -> tuple[Values, Version, list[str]]:
    """The fact values of an example target, the Kubernetes version it is judged as of,
    and any unknown keys it uses."""
    view = VIEW_NAME[kind]
    problems = [
        f"unknown key {k!r} (use {view}, declared, effective, {_VERSION_KEY})"
        for k in raw
        if k not in (view, "declared", "effective", _VERSION_KEY)
    ]
    for key in (view, "declared", "effective"):
        problems += [f"unknown fact {key}.{p}" for p in _unknown_paths(kind, raw.get(key, {}))]
    values = Values.example(
        kind, raw.get(view, {}), raw.get("declared", {}), raw.get("effective", {})
    )
    version = NEWEST
    if _VERSION_KEY in raw:
        try:
            version = versions.parse(str(raw[_VERSION_KEY]))
        except ValueError as exc:
            problems.append(f"{_VERSION_KEY}: {exc}")
    return values, version, problems


_VERSION_KEY = "kubernetes_version"


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
    raw: Any, kind: TargetKind, at: _Place, values: Constants, problems: list[Problem]
) -> tuple[set[str], Flat]:
    """The facts the rule's expressions read, and the expressions flattened (and checked
    to compile)."""
    facts: set[str] = set()
    flat = {}
    for field in ("condition", "applies_if", "evidence"):
        text = getattr(raw, field)
        if HAS.search(mask_strings(text)):
            message = "has() is not allowed: a missing fact must make the rule unknown, never pass"
            problems.append(at.problem(message, field, field))
            continue
        for variable, path, _offset in references(text):
            fact, message = check_reference(kind, variable, path, values)
            if message:
                problems.append(at.problem(message, field, field))
            elif fact is not None:
                facts.add(f"{variable}.{fact}")
        flat[field] = flatten(text, kind, values) if text else ""
        check_compiles(flat[field], f"{at.where}.{field}", at.line(field), problems)
    return facts, Flat(**flat)


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
            values, version, unknown = _example(kind, item)
            line = at.line("examples", name, i)
            problems += [Problem(m, f"{at.where}.examples.{name}[{i}]", line) for m in unknown]
            examples.append(Example(Status(name), values, line, version))
    return examples


def _fix(raw: Any, at: _Place, values: Constants, problems: list[Problem]) -> Fix:
    """The rule's fix steps, with constants among the items written out."""
    if raw is None:
        return Fix()
    kinds: dict[str, tuple[FixStep, ...]] = {}
    for kind in ("kubernetes", "compose"):
        steps = []
        for index, step in enumerate(getattr(raw, kind)):
            items: list[str] = []
            for item in step.items:
                if item.startswith(CONSTANTS_VARIABLE + "."):
                    if item not in values:
                        where = f"{at.where}.fix.{kind}[{index}].items"
                        line = at.line("fix", kind, index, "items")
                        problems.append(Problem(f"unknown constant {item!r}", where, line))
                    items += values.get(item, ())
                else:
                    items.append(item)
            steps.append(
                FixStep(
                    FixOp(step.op),
                    tuple(step.path.split(".")),
                    step.to,
                    tuple(items),
                    step.matching,
                    FixScope(step.scope),
                    step.capabilities,
                )
            )
        kinds[kind] = tuple(steps)
    return Fix(kinds["kubernetes"], kinds["compose"], raw.like)


def _rule(
    raw: Any,
    index: int,
    pack: Any,
    doc: Located,
    refs: Mapping[str, Mapping[str, ReferenceItem]],
    *,
    values: Constants,
) -> tuple[Rule | None, list[Problem]]:
    problems: list[Problem] = []
    at = _Place(doc, index)
    if raw.mode is Mode.AUTOMATED and not raw.condition:
        problems.append(at.problem("an automated rule needs a condition"))
    if raw.mode is Mode.MANUAL and (raw.condition or not raw.evidence):
        problems.append(at.problem("a manual rule has evidence and no condition"))
    facts, flat = _expressions(raw, pack.target, at, values, problems)
    if raw.since:
        try:
            versions.parse(raw.since)
        except ValueError as exc:
            problems.append(at.problem(str(exc), "since", "since"))
    for kind in ("cis", "nist", "pss"):
        for item in getattr(raw.references, kind):
            if item not in refs[kind]:
                message = f"unknown {kind} reference {item!r}"
                problems.append(at.problem(message, f"references.{kind}", "references"))
    examples = _examples(raw, pack.target, at, problems)
    fix = _fix(raw.fix, at, values, problems)
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
        since=raw.since,
        covers=raw.covers,
        flat=flat,
        fix=fix,
    )
    return rule, []


def load_pack(
    path: Path, refs: Mapping[str, Mapping[str, ReferenceItem]], values: Constants
) -> RulePack:
    from harden.audit.rules.packfile import PackIn  # noqa: PLC0415
    from harden.system.yaml import load_single  # noqa: PLC0415

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
        rule, found = _rule(raw, index, parsed, doc, refs, values=values)
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
        parsed.default,
    )


def load_strict(folder: Path) -> Catalog:
    """Every pack in ``folder``, validated from YAML (no cache)."""
    refs, docs = load_references(folder / "references.yaml")
    values = constants()
    packs = tuple(load_pack(p, refs, values) for p in sorted((folder / "packs").glob("*.yaml")))
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
    _check_covers(packs)
    return Catalog(_resolve_likes(packs), refs, docs)


def _resolve_likes(packs: tuple[RulePack, ...]) -> tuple[RulePack, ...]:
    """``fix: {like: RULE}`` becomes that rule's own fix steps (which must be its own)."""
    rules = {r.id: r for p in packs for r in p.rules}
    out = []
    for pack in packs:
        resolved = []
        for original in pack.rules:
            rule, like = original, original.fix.like
            if like:
                other = rules.get(like)
                problem = ""
                if other is None:
                    problem = f"fix.like names no rule {like!r}"
                elif other.fix.like or not (other.fix.kubernetes or other.fix.compose):
                    problem = f"fix.like: {like} has no fix steps of its own"
                if problem or other is None:
                    raise FileProblems(pack.source, [Problem(problem, rule.id, rule.line)])
                rule = dataclasses.replace(rule, fix=dataclasses.replace(other.fix, like=like))
            resolved.append(rule)
        out.append(dataclasses.replace(pack, rules=tuple(resolved)))
    return tuple(out)


def _check_covers(packs: tuple[RulePack, ...]) -> None:
    """``covers`` names other rules, and may chain (A covers B, B covers C) but not loop."""
    rules = {r.id: (r, p) for p in packs for r in p.rules}
    for start, (rule, pack) in rules.items():
        todo, seen = list(rule.covers), set()
        while todo:
            current = todo.pop()
            problem = ""
            if current == start:
                problem = "covers itself" if current in rule.covers else "covers form a cycle"
            elif current not in rules:
                problem = f"covers unknown rule {current!r}"
            if problem:
                raise FileProblems(pack.source, [Problem(problem, f"{start}.covers", rule.line)])
            if current not in seen:
                seen.add(current)
                todo.extend(rules[current][0].covers)
