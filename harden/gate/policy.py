"""Loading a gate policy (YAML, strict, located errors) into a frozen Policy."""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harden.audit.rules import versions
from harden.audit.rules.model import Severity
from harden.errors import FileProblems, InputError, Problem

if TYPE_CHECKING:
    from harden.system.yaml import Located, PathKey

MAX_POLICY_BYTES = 1 << 20
DEFAULT_PACKS = ("container", "pss-baseline")


@dataclass(frozen=True)
class Waiver:
    rule: str
    target: str
    file: str
    reason: str
    owner: str
    expires: datetime.date
    where: str  # "policy.yaml:12"

    def matches(self, rule_id: str, target: str, file: str) -> bool:
        return (
            fnmatch.fnmatchcase(rule_id, self.rule)
            and fnmatch.fnmatchcase(target, self.target)
            and fnmatch.fnmatchcase(file, self.file)
        )


@dataclass(frozen=True)
class Policy:
    source: str = ""  # the policy file, '' for the built-in defaults
    packs: tuple[str, ...] = DEFAULT_PACKS
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: Severity | None = Severity.HIGH
    kubernetes_version: versions.Version = versions.NEWEST  # the PSS packs judge as of it
    ignore_kinds: frozenset[str] = frozenset()
    waivers: tuple[Waiver, ...] = ()
    baseline: Path | None = None
    lines: Mapping[str, int] = field(default_factory=dict)  # "packs[1]" -> its line

    def check_names(self, packs: Collection[str], rules: Collection[str]) -> list[Problem]:
        """Every pack and rule the policy names must exist: a typo would silently run
        nothing, or waive nothing. A glob must match at least one rule."""
        problems = []
        named = [
            *((f"packs[{i}]", p, packs, "pack") for i, p in enumerate(self.packs)),
            *((f"rules.only[{i}]", r, rules, "rule") for i, r in enumerate(self.only)),
            *((f"rules.exclude[{i}]", r, rules, "rule") for i, r in enumerate(self.exclude)),
            *((f"waivers[{i}].rule", w.rule, rules, "rule") for i, w in enumerate(self.waivers)),
        ]
        for where, name, known, what in named:
            if not any(fnmatch.fnmatchcase(k, name) for k in known):
                import difflib  # noqa: PLC0415 - only for a typo

                close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                message = f"no {what} named {name!r}{hint}"
                problems.append(Problem(message, where, self.lines.get(where)))
        return problems

    def selects(self, rule_id: str, since: str) -> bool:
        if self.only and not any(fnmatch.fnmatchcase(rule_id, p) for p in self.only):
            return False
        if any(fnmatch.fnmatchcase(rule_id, p) for p in self.exclude):
            return False
        return not (since and versions.parse(since) > self.kubernetes_version)


def kubernetes_version(text: str) -> versions.Version:
    """``--k8s-version`` / ``GateRequest.kubernetes_version``: an unknown one is an input error."""
    try:
        return versions.parse(text)
    except ValueError as exc:
        raise InputError(str(exc), hint="see harden gate --help") from None


def fail_on(text: str) -> Severity | None:
    return None if text == "never" else Severity(text)


def load_policy(path: Path) -> Policy:
    from pydantic import ValidationError  # noqa: PLC0415

    from harden.gate.policyfile import PolicyIn  # noqa: PLC0415
    from harden.system.validation import problems_from_validation  # noqa: PLC0415
    from harden.system.yaml import load_single  # noqa: PLC0415 - PyYAML only for a file

    doc = load_single(path, what="policy", max_bytes=MAX_POLICY_BYTES)
    try:
        parsed = PolicyIn.model_validate(doc.data)
    except ValidationError as exc:
        raise FileProblems(
            str(path), problems_from_validation(exc, doc), hint="see audit/policy.schema.json"
        ) from None
    waivers = tuple(
        Waiver(
            w.rule,
            w.target,
            w.file,
            w.reason,
            w.owner,
            w.expires,
            f"{path}:{doc.line_of(('waivers', i)) or 1}",
        )
        for i, w in enumerate(parsed.waivers)
    )
    baseline = (path.parent / parsed.baseline) if parsed.baseline else None
    return Policy(
        source=str(path),
        packs=parsed.packs,
        only=parsed.rules.only,
        exclude=parsed.rules.exclude,
        fail_on=fail_on(parsed.fail_on),
        kubernetes_version=versions.parse(parsed.kubernetes_version)
        if parsed.kubernetes_version
        else versions.NEWEST,
        ignore_kinds=frozenset(parsed.ignore_kinds),
        waivers=waivers,
        baseline=baseline,
        lines=_name_lines(doc, parsed),
    )


def _name_lines(doc: Located, parsed: Any) -> dict[str, int]:
    """The line of every pack and rule name the policy gives (for located typos)."""
    keys: list[tuple[str, PathKey]] = []
    keys += [(f"packs[{i}]", ("packs", i)) for i in range(len(parsed.packs))]
    for part in ("only", "exclude"):
        names = getattr(parsed.rules, part)
        keys += [(f"rules.{part}[{i}]", ("rules", part, i)) for i in range(len(names))]
    keys += [(f"waivers[{i}].rule", ("waivers", i, "rule")) for i in range(len(parsed.waivers))]
    return {where: doc.line_of(key) or 1 for where, key in keys}


def parse_inline(text: str) -> tuple[str, datetime.date | None]:
    """``"expires=2027-01-31; reason"`` or ``"reason"`` -> (reason, expiry); ValueError if bad."""
    reason, expires = text.strip(), None
    if reason.startswith("expires="):
        head, sep, rest = reason.partition(";")
        if not sep:
            raise ValueError("write it as 'expires=YYYY-MM-DD; reason'")
        date_text = head.removeprefix("expires=").strip()
        try:
            expires = datetime.date.fromisoformat(date_text)
        except ValueError:
            raise ValueError(f"{date_text!r} is not a date (YYYY-MM-DD)") from None
        reason = rest.strip()
    if len(reason) < 3:
        raise ValueError("an inline waiver needs a reason")
    return reason, expires


def schema() -> dict[str, Any]:
    from harden.gate.policyfile import PolicyIn  # noqa: PLC0415

    document = PolicyIn.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://harden.invalid/schemas/policy-1.json",
        **document,
    }


__all__ = ["DEFAULT_PACKS", "Policy", "Problem", "Waiver", "load_policy", "parse_inline"]
