"""``harden report merge``: many host reports (JSON) -> one fleet report.

Each input is a report harden wrote with ``--format json`` (schema major version 1):
from ``harden audit`` on a node, or an earlier merge. Rules are rebuilt from the
reports' own rule lists (so reports of another pack version still merge); every target
keeps its host. A file that is not such a report is an input error naming the file and
the field; nothing is written.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema_rs

from harden.audit.report import Report, ReportKind, TargetResult, order_key, score, tally
from harden.audit.rules.model import (
    Acceptance,
    Accepted,
    Evidence,
    Finding,
    Mode,
    References,
    Remediation,
    Rule,
    RulePack,
    Severity,
    Status,
)
from harden.audit.state.model import SourceKind, TargetKind
from harden.errors import FileProblems, HardenError, Problem, Reported
from harden.report.text import shown
from harden.resources import data_dir
from harden.system import parallel
from harden.system.yaml import load_json

MAX_REPORT_BYTES = 256 << 20
PARALLEL_FROM = 16  # reports; below this a second process costs more than it saves
SCHEMA_FILE = "audit-report.schema.json"


class _Merger:
    def __init__(self) -> None:
        self.rules: dict[str, Rule] = {}
        self.passes: dict[str, Finding] = {}  # one shared PASS finding per rule
        self.packs: dict[str, tuple[dict[str, Any], list[str]]] = {}
        self.documents: dict[str, str] = {}
        self.targets: list[TargetResult] = []
        self.hosts: list[str] = []
        self.problems: list[str] = []
        self.versions: set[str] = set()
        self.built: dict[int, tuple[dict[str, Any], Finding]] = {}

    def rule(self, raw: dict[str, Any]) -> None:
        if raw["id"] in self.rules:
            return
        refs = raw.get("references", {})
        fix = raw["remediation"]
        self.rules[raw["id"]] = Rule(
            id=raw["id"],
            pack=raw["pack"],
            target=TargetKind(raw["target"]),
            title=raw["title"],
            severity=Severity(raw["severity"]),
            mode=Mode(raw["mode"]),
            condition="",
            applies_if="",
            evidence="",
            rationale=raw.get("rationale", ""),
            remediation=Remediation(fix["docker"], fix["compose"], fix["kubernetes"]),
            references=References(*(tuple(refs.get(k, ())) for k in ("cis", "nist", "pss"))),
            facts=(),
            examples=(),
            source="",
            line=None,
            since=raw.get("since", ""),
        )
        self.passes[raw["id"]] = Finding(self.rules[raw["id"]], Status.PASS)

    def finding(self, raw: dict[str, Any]) -> Finding:
        """One finding; the same raw object (shared by the loaders) gives the same Finding."""
        cached = self.built.get(id(raw))
        if cached is not None and cached[0] is raw:
            return cached[1]
        finding = self._finding(raw)
        self.built[id(raw)] = (raw, finding)
        return finding

    def _finding(self, raw: dict[str, Any]) -> Finding:
        evidence = tuple(
            Evidence(e["fact"], e.get("value"), e.get("origin", ""), e.get("line"))
            for e in raw.get("evidence", ())
        )
        accepted = None
        if isinstance(raw.get("accepted"), dict):
            a = raw["accepted"]
            accepted = Accepted(
                Acceptance(a["how"]),
                a["reason"],
                a.get("owner", ""),
                a.get("expires", ""),
                a.get("where", ""),
            )
        rule = self.rules[raw["rule"]]
        return Finding(
            rule,
            Status(raw["status"]),
            raw.get("message", ""),
            evidence,
            raw.get("detail"),
            accepted,
        )

    def target(self, raw: dict[str, Any], host: str) -> TargetResult:
        findings = [self.finding(f) for f in raw["findings"]]
        findings += [self.passes[rule_id] for rule_id in raw["passed"]]
        counts, failed = tally(findings)
        worst = max(failed, key=lambda s: s.rank) if failed else None
        source = raw.get("source")
        return TargetResult(
            kind=TargetKind(raw["kind"]),
            id=raw["id"],
            name=raw["name"],
            image=raw["image"],
            runtime=raw["runtime"],
            labels=dict(raw["labels"]),
            findings=tuple(findings),
            score=score(counts, failed),  # recomputed: one formula, whatever wrote the report
            worst=worst,
            counts=counts,
            failed=failed,
            unreadable=raw.get("unreadable", ""),
            source=SourceKind(source) if source else None,
            file=raw.get("file", ""),
            line=raw.get("line"),
            host=raw.get("host") or host,
        )

    def add(self, path: Path, data: dict[str, Any]) -> None:
        """One report that :func:`_checked` accepted."""
        _check_references(path, data)
        scan = data["scan"]
        host = str(scan.get("host", {}).get("hostname") or path.stem)
        if host in self.hosts:
            host = f"{host} ({path})"
        self.hosts.extend(data.get("hosts") or [host])
        self.versions.add(str(data["tool"]["version"]))
        self.documents.update(data.get("references", {}))
        for raw in data["rules"]:
            self.rule(raw)
        for pack in data["packs"]:
            known = self.packs.setdefault(pack["id"], (pack, []))
            known[1].extend(
                r["id"]
                for r in data["rules"]
                if r["pack"] == pack["id"] and r["id"] not in known[1]
            )
        self.problems += [f"{host}: {p}" for p in scan.get("problems", [])]
        if scan.get("engine_unavailable") and not scan.get("problems"):
            self.problems.append(f"{host}: the engine could not be used")
        self.targets += [self.target(t, host) for t in data["targets"]]

    def report(self, generated_at: str, tool_version: str) -> Report:
        packs = tuple(
            RulePack(
                p["id"],
                p["title"],
                p["version"],
                TargetKind(p["target"]),
                "",
                tuple(self.rules[i] for i in ids),
                "",
            )
            for p, ids in self.packs.values()
        )
        return Report(
            generated_at=generated_at,
            tool_version=tool_version,
            source=SourceKind.FLEET,
            endpoint=f"{len(self.hosts)} host report{'s' if len(self.hosts) != 1 else ''}",
            host={"harden_versions": ", ".join(sorted(self.versions))},
            packs=packs,
            documents=self.documents,
            targets=tuple(sorted(self.targets, key=lambda t: (*order_key(t), t.host))),
            problems=tuple(self.problems),
            kind=ReportKind.FLEET,
            hosts=tuple(self.hosts),
        )


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = load_json(data_dir("reports") / SCHEMA_FILE, what="schema")
    return schema


@functools.cache
def _validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(_schema())


def _schema_errors(data: dict[str, Any]) -> list[tuple[str, list[str | int]]]:
    """(message, path) of the first few places ``data`` breaks the report schema.

    jsonschema-rs checks a host report in a fraction of a millisecond (the pure-Python
    validator takes ~200 ms); it cannot take a lone surrogate (a JSON escape such as
    ``\\ud800`` in a name), and such a report is checked by the pure-Python one."""
    try:
        errors = itertools.islice(_validator().iter_errors(data), 10)
        return [(e.message, list(e.instance_path)) for e in errors]
    except UnicodeEncodeError:
        from jsonschema import Draft202012Validator  # noqa: PLC0415

        slow = itertools.islice(Draft202012Validator(_schema()).iter_errors(data), 10)
        return [(e.message, list(e.absolute_path)) for e in slow]


def _checked(path: Path, data: Any) -> dict[str, Any]:
    """``data`` if it is a report this harden reads: kind, major version, then the schema
    (the merge relies on every field's type; a host's report is not trusted)."""
    source = str(path)
    if not isinstance(data, dict) or data.get("kind") != "harden-audit-report":
        raise FileProblems(source, [Problem("not a harden report (kind harden-audit-report)")])
    version = data.get("schema_version")
    if not isinstance(version, str) or not version.startswith("1."):
        problem = Problem(f"report schema {shown(str(version), 40)!r}; this harden reads 1.x")
        raise FileProblems(source, [dataclasses.replace(problem, field="schema_version")])
    problems = [
        Problem(shown(message, 200), _pointer(path)) for message, path in _schema_errors(data)
    ]
    if problems:
        raise FileProblems(
            source,
            problems,
            hint=f"merge the files `harden audit --format json` wrote ({SCHEMA_FILE})",
        )
    return data


def _pointer(path: Sequence[str | int]) -> str:
    return "/".join(shown(str(p), 60) for p in path) or "(top)"


def _load(path: Path, shared: dict[tuple[Any, ...], list[Any]]) -> Any:
    """A report as data, its findings and rule lists shared with equal ones seen before
    (hosts run the same images: most findings repeat, and pickle sends a shared object once)."""
    data = _checked(path, load_json(path, what="report", max_bytes=MAX_REPORT_BYTES))
    data["rules"] = _shared(("rules",), data["rules"], shared)
    for target in data["targets"]:
        target["findings"] = [
            _shared((f["rule"], f["status"], f.get("message")), f, shared)
            for f in target["findings"]
        ]
    return data


def _shared(key: tuple[Any, ...], value: Any, shared: dict[tuple[Any, ...], list[Any]]) -> Any:
    bucket = shared.setdefault(key, [])
    for seen in bucket:
        if seen == value:
            return seen
    if len(bucket) < 64:
        bucket.append(value)
    return value


def _load_chunk(paths: Sequence[Path]) -> list[tuple[Any, str]]:
    """(data, '') or (None, diagnostics) per report; runs in a worker process."""
    shared: dict[tuple[Any, ...], list[Any]] = {}
    out: list[tuple[Any, str]] = []
    for path in paths:
        try:
            out.append((_load(path, shared), ""))
        except HardenError as exc:
            out.append((None, exc.diagnostics()))
    return out


def _loaded(paths: list[Path], jobs: int) -> Iterator[tuple[Path, Any, str]]:
    """(path, data, '') or (path, None, diagnostics) per report, in order; read in forked
    workers from PARALLEL_FROM reports on."""
    if len(paths) < PARALLEL_FROM:
        jobs = 1
    chunks = parallel.chunked(paths, jobs * 4)
    for chunk, results in zip(
        chunks, parallel.map_chunks(_load_chunk, chunks, jobs=jobs), strict=True
    ):
        for path, (data, error) in zip(chunk, results, strict=True):
            yield path, data, error


def merge(paths: Iterable[Path], *, generated_at: str, tool_version: str, jobs: int = 0) -> Report:
    """Every report in ``paths`` merged; reports are read by one worker per core (up to 4)."""
    merger = _Merger()
    files = list(paths)
    for path, data, error in _loaded(files, jobs or parallel.workers()):
        if error:
            raise Reported(error)
        merger.add(path, data)
    return merger.report(generated_at, tool_version)


def _check_references(path: Path, data: dict[str, Any]) -> None:
    """What the schema cannot say: every rule a finding, a pass or a pack names is in the
    report's rule list, and every rule's pack in its pack list."""
    rules = {r["id"]: r for r in data["rules"]}
    packs = {p["id"] for p in data["packs"]}
    problems = [
        Problem(
            f"rule {shown(r['id'], 60)!r} names pack {shown(r['pack'], 60)!r}, not listed",
            f"rules/{i}/pack",
        )
        for i, r in enumerate(data["rules"])
        if r["pack"] not in packs
    ]
    for t, target in enumerate(data["targets"]):
        named = [(f"findings/{i}/rule", f["rule"]) for i, f in enumerate(target["findings"])]
        named += [(f"passed/{i}", rule) for i, rule in enumerate(target["passed"])]
        problems += [
            Problem(
                f"rule {shown(rule, 60)!r} is not in the report's rules", f"targets/{t}/{where}"
            )
            for where, rule in named
            if rule not in rules
        ]
    if problems:
        raise FileProblems(
            str(path), problems[:10], hint="merge the files `harden audit --format json` wrote"
        )
