"""``harden report merge``: many host reports (JSON) -> one fleet report.

Each input is a report harden wrote with ``--format json`` (schema major version 1):
from ``harden audit`` on a node, or an earlier merge. Rules are rebuilt from the
reports' own rule lists (so reports of another pack version still merge); every target
keeps its host. A file that is not such a report is an input error naming the file and
the field; nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

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
from harden.system import parallel
from harden.system.yaml import load_json

MAX_REPORT_BYTES = 256 << 20
PARALLEL_FROM = 16  # reports; below this a second process costs more than it saves


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

    def add(self, path: Path, data: Any) -> None:
        if not isinstance(data, dict) or data.get("kind") != "harden-audit-report":
            raise FileProblems(
                str(path), [Problem("not a harden report (kind harden-audit-report)")]
            )
        version = str(data.get("schema_version", ""))
        if not version.startswith("1."):
            raise FileProblems(
                str(path),
                [Problem(f"report schema {version!r}; this harden reads 1.x", "schema_version")],
            )
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


def _load(path: Path, shared: dict[tuple[Any, ...], list[Any]]) -> Any:
    """A report as data, its findings and rule lists shared with equal ones seen before
    (hosts run the same images: most findings repeat, and pickle sends a shared object once)."""
    data = load_json(path, what="report", max_bytes=MAX_REPORT_BYTES)
    if not isinstance(data, dict):
        return data
    if isinstance(data.get("rules"), list):
        data["rules"] = _shared(("rules",), data["rules"], shared)
    for target in data.get("targets") or ():
        if isinstance(target, dict) and isinstance(target.get("findings"), list):
            target["findings"] = [
                _shared((f.get("rule"), f.get("status"), f.get("message")), f, shared)
                if isinstance(f, dict)
                else f
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
        try:
            merger.add(path, data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FileProblems(
                str(path),
                [Problem(f"not a harden report: {type(exc).__name__} {exc}")],
                hint="merge the files `harden audit --format json` wrote",
            ) from None
    return merger.report(generated_at, tool_version)
