"""The gate on a corpus of good and bad inputs of every kind, with exact expected findings.

tests/data/gate/corpus/ holds Kubernetes manifests (every workload kind, List, init and
ephemeral containers, pod-level inheritance), a compose file, saved podman inspect
output; a bundle is generated from the web spec. The golden file lists every finding
that is not a pass, with its location: review its diff like code.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest

from harden.audit.report import Report
from harden.audit.rules.model import Status
from harden.audit.state.model import SourceKind
from harden.errors import ExitCode
from harden.gate.run import GateRequest, exit_code, gate
from harden.report.locate import location
from tests.conftest import DATA, ROOT, Golden

CORPUS = DATA / "gate" / "corpus"
TODAY = datetime.date(2026, 11, 26)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus plus a bundle generated from the web spec, copied to a fixed-name folder."""
    from harden.cli import main

    root = tmp_path_factory.mktemp("gate") / "corpus"
    shutil.copytree(CORPUS, root)
    with pytest.raises(SystemExit) as done:
        main(
            [
                "generate",
                str(ROOT / "profiles" / "workloads" / "web.yaml"),
                "-o",
                str(root / "bundle-web"),
            ]
        )
    assert done.value.code == 0
    return root


def _gate(*paths: Path, **kwargs: object) -> Report:
    report, _ = gate(GateRequest(paths, "2026-11-26T12:00:00Z", TODAY, **kwargs))  # type: ignore[arg-type]
    return report


def _lines(report: Report, root: Path) -> str:
    out = []
    for target in sorted(report.targets, key=lambda t: (t.file, t.line or 0, t.name)):
        for finding in sorted(target.findings, key=lambda f: f.rule.id):
            if finding.status in (Status.PASS, Status.SKIPPED, Status.MANUAL):
                continue
            file, line = location(target, finding)
            where = f"{file}:{line}"  # relative to the scan root already
            out.append(f"{finding.status.value:6} {finding.rule.id:9} {target.name:40} {where}")
    return "\n".join(out) + "\n"


def test_the_corpus_gives_exactly_the_expected_findings(corpus: Path, golden: Golden) -> None:
    report = _gate(corpus)
    golden("gate/corpus.txt", _lines(report, corpus))
    kinds = {t.source for t in report.targets}
    assert kinds == {
        SourceKind.KUBERNETES,
        SourceKind.COMPOSE,
        SourceKind.INSPECT,
        SourceKind.BUNDLE,
    }
    assert report.host["ignored_kinds"] == "Service x1"
    assert exit_code(report) is ExitCode.FAILED


def test_every_workload_kind_and_container_type_is_a_target(corpus: Path) -> None:
    names = {t.name for t in _gate(corpus / "k8s").targets}
    assert names == {
        "Deployment/prod/shop/web",
        "Pod/default/debug/shell",
        "CronJob/ops/backup/dump",
        "DaemonSet/kube-system/agent/setup",
        "DaemonSet/kube-system/agent/agent",
        "DaemonSet/kube-system/agent/debugger",
        "StatefulSet/prod/db/postgres",
    }


def test_the_good_inputs_pass_the_default_policy(corpus: Path) -> None:
    report = _gate(corpus / "k8s" / "good.yaml", corpus / "bundle-web")
    assert exit_code(report) is ExitCode.OK
    assert report.gate is not None
    assert report.gate.violations == 0
    web = next(t for t in report.targets if t.name == "Deployment/prod/shop/web")
    assert not web.failing


def test_pod_level_settings_are_inherited_and_container_level_ones_win(corpus: Path) -> None:
    by_name = {t.name: t for t in _gate(corpus / "k8s" / "bad.yaml").targets}

    def status(target: str, rule: str) -> Status:
        return next(f.status for f in by_name[target].findings if f.rule.id == rule)

    # runAsUser 1000 at pod level; the agent container overrides it with 0
    assert status("DaemonSet/kube-system/agent/setup", "USR-001") is Status.PASS
    assert status("DaemonSet/kube-system/agent/agent", "USR-001") is Status.FAIL
    # hostNetwork is pod level: the CronJob's container shares the host's network
    assert status("CronJob/ops/backup/dump", "NS-001") is Status.FAIL


def test_moving_lines_keeps_fingerprints(corpus: Path, tmp_path: Path) -> None:
    from harden.report.locate import fingerprint

    path = tmp_path / "bad.yaml"
    text = (corpus / "k8s" / "bad.yaml").read_text()

    def prints() -> dict[tuple[str, str], tuple[str, int | None]]:
        report = _gate(path)
        return {
            (t.name, f.rule.id): (fingerprint(t, f), location(t, f)[1])
            for t in report.targets
            for f in t.failing
        }

    path.write_text(text)
    before = prints()
    path.write_text("# moved down\n\n\n" + text)
    after = prints()
    assert before.keys() == after.keys()
    assert all(before[k][0] == after[k][0] for k in before)
    assert all(after[k][1] == (before[k][1] or 0) + 3 for k in before if before[k][1])
