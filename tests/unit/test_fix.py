"""``harden fix``: every workload kind and compose fixed with a minimal diff that keeps
comments, and the result passes the gate; what has no mechanical fix is listed, not changed.

tests/data/fix/ holds one file per workload kind (and a compose file) whose failures
all have a mechanical fix; the golden diff of each is reviewed like code. The gate
corpus is fixed too: what is left there must be exactly what has no mechanical fix.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from harden.audit.rules.catalog import load_catalog
from tests.conftest import DATA, ROOT, Golden, run_harden

CASES = sorted((DATA / "fix").glob("*.yaml"))
CORPUS = DATA / "gate" / "corpus"
COMMENT = re.compile(r"#.*$")


def _copy(source: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = folder / source.name
    shutil.copy(source, target)
    monkeypatch.chdir(folder)
    return Path(source.name)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "web"
    result = run_harden(
        "generate", str(ROOT / "profiles" / "workloads" / "web.yaml"), "-o", str(out)
    )
    assert result.code == 0, result.stderr
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_each_kind_is_fixed_minimally_and_passes_the_gate(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden
) -> None:
    path = _copy(case, tmp_path, monkeypatch)
    before = path.read_text()
    shown = run_harden("fix", str(path))
    assert shown.code == 0, shown.stderr
    golden(f"fix/{case.stem}.diff", shown.stdout)
    assert path.read_text() == before  # without --write nothing is written
    assert "after the fix the policy passes" in shown.stderr

    written = run_harden("fix", str(path), "--write", "--quiet")
    assert (written.code, written.stderr) == (0, "")
    after = path.read_text()
    # comments survive, except those on a line the fix removed
    removed = {line for line in shown.stdout.splitlines() if line.startswith("-")}
    for line in before.splitlines():
        if COMMENT.search(line) and f"-{line}" not in removed:
            assert COMMENT.search(line)[0] in after, line  # type: ignore[index]
    # minimal: only the lines of fields the fix changed are touched
    old = [
        ln for ln in shown.stdout.splitlines() if ln.startswith("-") and not ln.startswith("---")
    ]
    assert len(old) <= 4
    assert run_harden("gate", str(path)).code == 0
    assert run_harden("fix", str(path), "--quiet").stdout == ""  # fixed once, for good


def _mechanical(kind: str) -> set[str]:
    return {r.id for r in load_catalog().rules() if getattr(r.fix, kind)}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("k8s/bad.yaml", "kubernetes"),
        ("k8s/good.yaml", "kubernetes"),
        ("compose/compose.yaml", "compose"),
    ],
)
def test_the_gate_corpus_keeps_only_what_has_no_mechanical_fix(
    name: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(CORPUS / name, tmp_path, monkeypatch)
    fixed = run_harden("fix", str(path), "--write")
    assert fixed.code in (0, 1), fixed.stderr
    report = json.loads(run_harden("gate", str(path), "--format", "json").stdout)
    left = {
        (f["rule"], t["name"])
        for t in report["targets"]
        for f in t["findings"]
        if f["status"] == "fail" and f["severity"] in ("critical", "high")
    }
    assert not {rule for rule, _ in left} & _mechanical(kind)
    listed = set(re.findall(r"^  (\S+) \w+ (\S+) ", fixed.stderr, re.MULTILINE))
    assert listed == left  # each one is listed with its remediation
    assert (fixed.code == 0) == (not left)
    if name.endswith("good.yaml"):
        assert path.read_text() == (CORPUS / name).read_text()


def test_host_namespaces_and_mounts_are_listed_never_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(CORPUS / "k8s" / "bad.yaml", tmp_path, monkeypatch)
    result = run_harden("fix", str(path))
    assert result.code == 1
    assert "hostPID: true" not in "".join(ln for ln in result.stdout.splitlines() if ln[:1] == "-")
    assert "NS-002 high Pod/default/debug/shell (bad.yaml:7)" in result.stderr
    assert "no mechanical fix: a person must decide; fix: hostPID: false" in result.stderr


def test_patch_merges_containers_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden
) -> None:
    path = _copy(DATA / "fix" / "deployment.yaml", tmp_path, monkeypatch)
    result = run_harden("fix", str(path), "--patch", "-o", "hardened.patch.yaml", "--quiet")
    assert result.code == 0
    golden("fix/deployment.patch.yaml", Path("hardened.patch.yaml").read_text())
    compose = _copy(DATA / "fix" / "compose.yaml", tmp_path, monkeypatch)
    override = run_harden("fix", str(compose), "--patch", "-o", "-", "--quiet")
    golden("fix/compose.override.yaml", override.stdout)


def test_a_bundle_is_applied_with_its_profile_copied_beside_the_file(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, golden: Golden
) -> None:
    path = tmp_path / "app" / "compose.yaml"
    path.parent.mkdir()
    path.write_text(
        "name: shop\nservices:\n  web:\n    image: web:1   # pinned\n  db:\n    image: db:1\n"
    )
    monkeypatch.chdir(tmp_path)
    several = run_harden("fix", "app/compose.yaml", "--bundle", str(bundle))
    assert several.code == 2
    assert "several services; name the one the bundle is for" in several.stderr
    result = run_harden(
        "fix", "app/compose.yaml", "--bundle", str(bundle), "--service", "web", "--write"
    )
    assert result.code in (0, 1), result.stderr
    text = path.read_text()
    assert "- seccomp:./web.seccomp.json" in text
    assert "image: web:1   # pinned" in text
    copied = tmp_path / "app" / "web.seccomp.json"
    assert copied.read_bytes() == (bundle / "seccomp.json").read_bytes()
    report = json.loads(run_harden("gate", "app/compose.yaml", "--format", "json").stdout)
    web = next(t for t in report["targets"] if t["name"] == "compose/shop/web")
    failed = {f["rule"] for f in web["findings"] if f["status"] in ("fail", "error")}
    assert not failed & {
        "SEC-001",
        "SEC-002",
        "SEC-003",
        "CAP-003",
        "MNT-004",
        "RES-001",
        "USR-001",
    }


def test_a_file_harden_did_not_write_is_never_overwritten(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  web:\n    image: web:1\n")
    (tmp_path / "web.seccomp.json").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    result = run_harden("fix", "compose.yaml", "--bundle", str(bundle), "--write")
    assert result.code == 2
    assert "web.seccomp.json: exists and differs" in result.stderr
    assert path.read_text() == "services:\n  web:\n    image: web:1\n"
    assert (tmp_path / "web.seccomp.json").read_text() == "{}\n"


@pytest.mark.parametrize(
    ("version", "field", "annotation"),
    [("v1.30", True, "runtime/default"), ("v1.29", False, "runtime/default")],
)
def test_apparmor_takes_the_form_of_the_cluster_version(
    version: str,
    field: bool,
    annotation: str,
    bundle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _copy(DATA / "fix" / "daemonset.yaml", tmp_path, monkeypatch)
    args = ("fix", str(path), "--bundle", str(bundle), "--container", "collector")
    result = run_harden(*args, "--k8s-version", version, "--write", "--quiet")
    assert result.code in (0, 1), result.stderr
    text = path.read_text()
    assert f"container.apparmor.security.beta.kubernetes.io/collector: {annotation}" in text
    assert ("appArmorProfile:" in text) == field
    assert "localhostProfile: harden/web.json" in text
    assert (tmp_path / "harden" / "web.json").is_file()


def test_without_a_cluster_version_a_new_apparmor_setting_is_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: c\n      image: c\n      securityContext:\n"
        "        appArmorProfile: {type: Unconfined}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert run_harden("fix", "pod.yaml", "--write", "-q").code == 0
    assert "appArmorProfile: {type: RuntimeDefault}" in path.read_text()
    old = run_harden("fix", "pod.yaml", "--k8s-version", "1.29", "-q")
    assert old.stdout == ""  # nothing fails: no change


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("inspect.json",), "harden fix rewrites compose files and Kubernetes manifests"),
        (("missing.yaml",), "missing.yaml: no such file"),
        (("k8s/bad.yaml", "--k8s-version", "2.0"), "'2.0' is not a Kubernetes version"),
        (("k8s/bad.yaml", "--write", "--patch"), "--write rewrites the file"),
        (("k8s/bad.yaml", "--service", "a", "--container", "b"), "--service is for compose"),
        (("k8s/bad.yaml", "--bundle", "k8s"), "k8s"),
    ],
)
def test_bad_usage_is_exit_2_with_a_reason_and_nothing_written(
    args: tuple[str, ...], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    monkeypatch.chdir(tmp_path / "corpus")
    result = run_harden("fix", *args)
    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "corpus" / "k8s" / "bad.yaml").read_text() == (
        CORPUS / "k8s" / "bad.yaml"
    ).read_text()


def test_writing_in_place_keeps_the_file_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(DATA / "fix" / "pod.yaml", tmp_path, monkeypatch)
    path.chmod(0o600)
    assert run_harden("fix", str(path), "--write", "-q").code == 0
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_waived_finding_is_not_fixed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (DATA / "fix" / "daemonset.yaml").read_text()
    waiver = '        harden.dev/waive.SEC-003: "expires=2099-01-01; it execs a setuid helper"\n'
    text = text.replace(
        "        # set by an old chart\n", waiver + "        # set by an old chart\n"
    )
    path = tmp_path / "ds.yaml"
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    result = run_harden("fix", "ds.yaml", "-q")
    assert result.code == 0
    assert "-          allowPrivilegeEscalation: true" not in result.stdout
    assert "-        container.apparmor" in result.stdout  # the rest is fixed
