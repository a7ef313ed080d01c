"""``fix()``: the one library call behind ``harden fix`` (judge, edit, judge again).

The gate judges the file; each failing finding whose rule declares a mechanical fix for
the input kind (``fix:`` in its pack) has its steps applied to its container or service,
and the result is judged again, until nothing more can be fixed (a fix can reveal what
another failure covered). A bundle's settings, when given, are applied first. What still
fails is listed with its rule's remediation: harden never guesses what a host mount or a
host namespace was for. Nothing is written here; the caller writes the result.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harden.audit.report import Report, TargetResult
from harden.audit.rules.model import FixScope, FixStep, Rule, Status
from harden.audit.sources.files import MAX_FILE_BYTES
from harden.audit.state.model import SourceKind
from harden.errors import InputError
from harden.fix import compose, kubernetes
from harden.fix.bundle import BundleFix, read_bundle_fix
from harden.fix.document import YamlFile, load, node_at
from harden.fix.places import Place, compose_places, kubernetes_places
from harden.fix.steps import Change, NotApplicable, apply_step, plain
from harden.gate.run import GateRequest, gate
from harden.system.yaml import parse_documents, read_text

MAX_ROUNDS = 5
NEWEST = (1, 99)  # no --k8s-version: the newest Kubernetes forms


@dataclass(frozen=True)
class FixRequest:
    path: Path
    generated_at: str  # given by the caller (the library has no clock)
    today: datetime.date  # waiver expiry
    policy: Path | None = None
    kubernetes_version: tuple[int, int] = NEWEST
    bundle: Path | None = None
    select: str = ""  # the service or container the bundle is for ('' if the file has one)


@dataclass(frozen=True)
class Applied:
    rule: str  # a rule id, or "bundle"
    target: str


@dataclass(frozen=True)
class Left:
    """A failure that is still there after the fix."""

    rule: Rule
    target: TargetResult
    line: int | None
    violation: bool  # it fails the policy
    reason: str  # why harden did not fix it


@dataclass(frozen=True)
class ExtraFile:
    path: Path
    data: bytes


@dataclass(frozen=True)
class FixResult:
    path: Path
    kind: SourceKind
    original: str
    fixed: str
    patch: str  # Kubernetes: strategic merge patches; compose: an override file
    files: tuple[ExtraFile, ...]  # written beside the file with it (seccomp profiles)
    applied: tuple[Applied, ...]
    left: tuple[Left, ...]
    notes: tuple[str, ...]  # what a person must still do (install a profile on the nodes)
    report: Report  # the gate's verdict on the fixed text
    reformatted: int  # documents whose round trip changes lines harden did not edit

    @property
    def changed(self) -> bool:
        return self.fixed != self.original


_KINDS = (SourceKind.KUBERNETES, SourceKind.COMPOSE)


class _Run:
    def __init__(self, request: FixRequest, text: str) -> None:
        self.request = request
        self.original = text
        self.yaml: YamlFile = load(text, str(request.path))
        docs = [d for d in parse_documents(text, str(request.path)) if d.data is not None]
        if len(docs) != len(self.yaml.documents):
            raise InputError(f"{request.path}: cannot tell its YAML documents apart")
        self.before = docs
        self.places: dict[int, Place] = {}
        self.applied: list[Applied] = []
        self.tried: set[tuple[int, str]] = set()
        self.bundled: dict[int, list[Change]] = {}  # line -> what the bundle set there
        self.kept: set[tuple[int, str]] = set()  # (line, rule) left alone for the bundle
        self.judged_as: tuple[str, str] = ("", "")  # (text written, text judged) swap

    def judge(self) -> Report:
        text = self.yaml.render()
        if self.judged_as[0]:
            text = text.replace(*self.judged_as)
        report, _ = gate(
            GateRequest(
                (self.request.path,),
                self.request.generated_at,
                self.request.today,
                policy=self.request.policy,
                contents=((self.request.path, text),),
            )
        )
        return report

    def edit(self, place: Place, steps: tuple[FixStep, ...]) -> list[Change]:
        doc = self.yaml.documents[place.document]
        doc.edit()
        changes: list[Change] = []
        for step in steps:
            path = place.pod if step.scope is FixScope.POD else place.path
            changes += apply_step(step, doc.node(path), (place.document, path))
        if place.kind:
            changes += kubernetes.apparmor_form(
                doc.data, place, changes, self.request.kubernetes_version
            )
        return changes

    def round(self, report: Report) -> bool:
        """Apply the fixes of every failing finding not tried yet; True if any was."""
        progress = False
        for target in report.targets:
            place = self.places.get(target.line or 0)
            if place is None or target.source not in _KINDS:
                continue
            for finding in target.failing:
                steps = _steps(finding.rule, target.source)
                key = (target.line or 0, finding.rule.id)
                if not steps or key in self.tried:
                    continue
                if self._undoes_bundle(key[0], place, steps):
                    self.kept.add(key)
                    continue
                self.tried.add(key)
                try:
                    if self.edit(place, steps):
                        self.applied.append(Applied(finding.rule.id, target.name))
                        progress = True
                except NotApplicable:
                    continue
        return progress

    def _undoes_bundle(self, line: int, place: Place, steps: tuple[FixStep, ...]) -> bool:
        """A rule's fix never changes what the bundle set (its own SELinux type fails
        the Pod Security rule about custom types, and is still what the user asked for)."""
        for step in steps:
            path = (*(place.pod if step.scope is FixScope.POD else place.path), *step.path)
            for change in self.bundled.get(line, ()):
                n = min(len(path), len(change.path))
                if path[:n] == change.path[:n]:
                    return True
        return False


def _steps(rule: Rule, kind: SourceKind | None) -> tuple[FixStep, ...]:
    if kind is SourceKind.KUBERNETES:
        return rule.fix.kubernetes
    if kind is SourceKind.COMPOSE:
        return rule.fix.compose
    return ()


def fix(request: FixRequest) -> FixResult:
    text = read_text(request.path, max_bytes=MAX_FILE_BYTES, what="input file")
    run = _Run(request, text)
    report = run.judge()
    kinds = {t.source for t in report.targets}
    if not report.targets or not kinds <= set(_KINDS):
        raise InputError(
            f"{request.path}: harden fix rewrites compose files and Kubernetes manifests; "
            "this file holds none" + ("" if not report.targets else " (only inspect output)"),
            hint="fix the compose file or manifest the container was created from",
        )
    kind = SourceKind.KUBERNETES if SourceKind.KUBERNETES in kinds else SourceKind.COMPOSE
    run.places = (
        kubernetes_places(run.before)
        if kind is SourceKind.KUBERNETES
        else compose_places(run.before[0])
    )
    names = {t.line or 0: t.name for t in report.targets}
    extra: tuple[ExtraFile, ...] = ()
    notes: tuple[str, ...] = ()
    if request.bundle is not None:
        bundle = read_bundle_fix(request.bundle, request.path, kind)
        extra, notes = _apply_bundle(run, bundle, kind, names)
    for _ in range(MAX_ROUNDS):
        report = run.judge()
        if not run.round(report):
            break
    else:
        report = run.judge()
    fixed = run.yaml.render()
    return FixResult(
        request.path,
        kind,
        text,
        fixed,
        _patch(run, kind),
        extra,
        tuple(run.applied),
        _left(report, run.tried, run.kept),
        notes,
        report,
        len(run.yaml.unfaithful()),
    )


def _apply_bundle(
    run: _Run, bundle: BundleFix, kind: SourceKind, names: dict[int, str]
) -> tuple[tuple[ExtraFile, ...], tuple[str, ...]]:
    chosen = _chosen(run, kind, run.request.select)
    for line, place in chosen:
        doc = run.yaml.documents[place.document]
        doc.edit()
        node = doc.node(place.path)
        at = (place.document, place.path)
        if kind is SourceKind.COMPOSE:
            changes = compose.apply_bundle(node, bundle.compose, bundle.reference, at)
        else:
            changes = kubernetes.apply_bundle(node, bundle.kubernetes, at)
            changes += kubernetes.apparmor_form(
                doc.data, place, changes, run.request.kubernetes_version
            )
        if changes:
            run.applied.append(Applied("bundle", names.get(line, place.name)))
            run.bundled[line] = changes
    if kind is SourceKind.COMPOSE:
        run.judged_as = (f"seccomp:{bundle.reference}", f"seccomp:{bundle.seccomp_path}")
    return (ExtraFile(bundle.copy_to, bundle.seccomp),), bundle.notes


def _chosen(run: _Run, kind: SourceKind, select: str) -> list[tuple[int, Place]]:
    places = sorted(run.places.items())
    what = "service" if kind is SourceKind.COMPOSE else "container"
    if select:
        chosen = [(line, p) for line, p in places if p.name == select]
        if not chosen:
            known = ", ".join(sorted({p.name for _, p in places}))
            raise InputError(f"{run.request.path}: no {what} named {select!r} (there are: {known})")
        return chosen
    if len({p.name for _, p in places}) != 1:
        option = "--service" if kind is SourceKind.COMPOSE else "--container"
        raise InputError(
            f"{run.request.path}: several {what}s; name the one the bundle is for",
            hint=f"{option} NAME",
        )
    return places


def _left(report: Report, tried: set[tuple[int, str]], bundled: set[tuple[int, str]]
          ) -> tuple[Left, ...]:  # fmt: skip
    from harden.report.locate import location  # noqa: PLC0415

    gate = report.gate
    out = []
    for target in report.targets:
        for finding in target.findings:
            if finding.status is not Status.FAIL:
                continue
            severe = bool(gate and gate.fail_on and finding.rule.severity.rank >= gate.fail_on.rank)
            expired = "[waiver expired:" in finding.message
            if (target.line or 0, finding.rule.id) in bundled:
                reason = "the bundle sets this on purpose"
            elif (target.line or 0, finding.rule.id) in tried:
                reason = "still fails after its fix (set elsewhere, e.g. at pod level?)"
            elif _steps(finding.rule, target.source):
                reason = "its fix does not fit this file's value"
            else:
                reason = "no mechanical fix: a person must decide"
            out.append(
                Left(finding.rule, target, location(target, finding)[1], severe or expired, reason)
            )
    return tuple(out)


def _patch(run: _Run, kind: SourceKind) -> str:
    from ruamel.yaml import YAML  # noqa: PLC0415

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.representer.add_representer(type(None), _null)
    out = io.StringIO()
    if kind is SourceKind.COMPOSE:
        body = compose.override(run.before[0].data, run.yaml.documents[0].data)
        if body is not None:
            out.write("# compose override: docker compose -f <file> -f <this file> up\n")
            yaml.dump(body, out)
        return out.getvalue()
    objects = sorted({(p.document, p.workload) for p in run.places.values()})
    patches: list[Any] = []
    for document, path in objects:
        before = node_at(run.before[document].data, path)
        after = node_at(run.yaml.documents[document].data, path)
        patch = kubernetes.patch_object(before, after)
        if patch is not None:
            patches.append(plain(patch))
    if patches:
        yaml.explicit_start = len(patches) > 1
        out.write("# strategic merge patches (kubectl patch, or kustomize patches:)\n")
        yaml.dump_all(patches, out)
    return out.getvalue()


def _null(representer: Any, _data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")
