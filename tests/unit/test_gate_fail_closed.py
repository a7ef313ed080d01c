"""The gate never passes what it did not read (issue 11): every case once passed or aborted.

Each test runs the gate as a user does (the CLI, or a real process for pipes and standard
input) and asserts the exit code and the findings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harden.errors import ExitCode
from tests.conftest import run_harden

RISKY = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\n"
    "spec:\n  template:\n    spec:\n      hostPID: true\n      containers:\n"
    "        - name: app\n          image: app:1\n          securityContext: {privileged: true}\n"
)


def _failing(report: dict[str, Any]) -> set[str]:
    targets = report["targets"]
    assert isinstance(targets, list)
    return {f["rule"] for t in targets for f in t["findings"] if f["status"] == "fail"}


def _gate_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run_harden("gate", *args, "--format", "json")
    assert "Traceback" not in result.output
    return result.code, json.loads(result.stdout) if result.stdout else {}


def test_an_empty_trailing_document_is_skipped_and_the_rest_judged(tmp_path: Path) -> None:
    helm = tmp_path / "rendered.yaml"
    helm.write_text("---\n" + RISKY + "---\n# end of chart\n---\n")
    for path in (helm, tmp_path):  # named, and met in a directory
        code, report = _gate_json(str(path))
        assert code == ExitCode.FAILED
        assert {"PRIV-001", "NS-002"} <= _failing(report)


def test_policy_typos_are_input_errors_with_the_closest_names(tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(RISKY)
    cases = {
        "packs: [contaner]": "packs[0]: no pack named 'contaner'; did you mean container?",
        "rules: {only: [PRIV-01]}": "rules.only[0]: no rule named 'PRIV-01'; did you mean PRIV-001",
        "rules: {exclude: [NETT-*]}": "rules.exclude[0]: no rule named 'NETT-*'",
        "waivers: [{rule: PRIV-0001, reason: legacy app, owner: ops, expires: 2999-01-01}]": (
            "waivers[0].rule: no rule named 'PRIV-0001'; did you mean PRIV-001"
        ),
    }
    for body, message in cases.items():
        policy = tmp_path / "policy.yaml"
        policy.write_text(f"version: 1\n{body}\n")
        result = run_harden("gate", str(app), "--policy", str(policy))
        assert result.code == ExitCode.INPUT, result.output
        assert f"policy.yaml:2: {message}" in result.output
        assert "PASSED" not in result.output


def _process(*args: str, stdin: str | None = None, shell: str | None = None) -> tuple[int, str]:
    env = {**os.environ, "COLUMNS": "200"}
    argv = ["bash", "-c", shell] if shell else [sys.executable, "-m", "harden", "gate", *args]
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    return done.returncode, done.stdout + done.stderr


def test_standard_input_and_pipes_are_read(tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(RISKY)
    harden = f"{sys.executable} -m harden gate"
    for code, output in (
        _process("-", stdin=RISKY),
        _process("/dev/stdin", stdin=RISKY),
        _process(shell=f"{harden} <(cat {app})"),
        _process(shell=f"cat {app} | {harden} -"),
    ):
        assert code == ExitCode.FAILED, output
        assert "PRIV-001" in output


def test_judging_nothing_is_incomplete_unless_allowed(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("replicas: 3\n")
    result = run_harden("gate", str(tmp_path))
    assert result.code == ExitCode.INCOMPLETE
    assert "nothing to judge" in result.output
    assert "PASSED" not in result.output
    assert run_harden("gate", str(tmp_path), "--allow-empty").code == ExitCode.OK
    code, output = _process("-", stdin="")
    assert code == ExitCode.INCOMPLETE, output


def test_a_repository_root_is_scanned_and_what_is_no_input_is_listed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yaml").write_text("on: push\njobs: {}\n")
    (repo / "web" / "public").mkdir(parents=True)
    (repo / "web" / "public" / "manifest.json").write_text('{"name": "app", "icons": []}\n')
    (repo / "web" / "public" / "app.js").write_text("console.log(1)\n")
    (repo / "web" / "package.json").write_text('{"name": "web", "version": "1.0.0"}\n')
    (repo / "web" / "tsconfig.json").write_text('{"compilerOptions": {"strict": true}}\n')
    (repo / "web" / "fixtures.json").write_text('[{"id": 1}, {"id": 2}]\n')
    (repo / "chart" / "templates").mkdir(parents=True)
    (repo / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (repo / "chart" / "templates" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
    )
    (repo / "k8s").mkdir()
    (repo / "k8s" / "app.yaml").write_text(RISKY)
    code, report = _gate_json(str(repo))
    assert code == ExitCode.FAILED
    assert [t["file"] for t in report["targets"]] == ["k8s/app.yaml"]
    skipped = {s["file"]: s["reason"] for s in report["scan"]["skipped"]}
    assert set(skipped) == {
        ".git",
        ".github",
        "chart/Chart.yaml",
        "chart/templates/deploy.yaml",
        "web/fixtures.json",
        "web/package.json",
        "web/public/manifest.json",
        "web/tsconfig.json",
    }
    assert skipped["chart/templates/deploy.yaml"].startswith("an unrendered Helm template")
    assert skipped[".github"] == "hidden directory, not walked (name it to gate it)"
    table = run_harden("gate", str(repo))
    assert "skipped chart/Chart.yaml: YAML that is neither" in table.output
    assert "skipped .github: hidden directory, not walked (name it to gate it)" in table.output
    # a file that is clearly an input and broken is still an error
    (repo / "k8s" / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nspec: [\n")
    broken = run_harden("gate", str(repo))
    assert broken.code == ExitCode.INPUT
    assert "k8s/broken.yaml:" in broken.output


def test_baselines_match_however_the_path_is_typed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "k8s").mkdir()
    (repo / "k8s" / "app.yaml").write_text(RISKY)
    baseline = repo / ".harden-baseline.json"
    cwd = Path.cwd()
    try:
        os.chdir(repo)
        written = run_harden("gate", "k8s/", "--write-baseline", str(baseline))
        assert written.code == ExitCode.OK, written.output
        for typed in ("./k8s", "k8s", str(repo / "k8s"), str(repo / "k8s" / "app.yaml"), "."):
            result = run_harden("gate", typed, "--baseline", str(baseline))
            assert result.code == ExitCode.OK, (typed, result.output)
    finally:
        os.chdir(cwd)


def test_compose_interpolation_follows_the_specification() -> None:
    from harden.audit.sources.compose.resolve import substitute

    env = {"SET": "value", "EMPTY": "", "FOO": "foo"}
    cases = {
        "${SET}": "value",
        "$SET/x": "value/x",
        "${UNSET:-dflt}": "dflt",
        "${EMPTY:-dflt}": "dflt",
        "${EMPTY-dflt}": "",
        "${UNSET-dflt}": "dflt",
        "${SET:+alt}": "alt",
        "${EMPTY:+alt}": "",
        "${EMPTY+alt}": "alt",
        "${UNSET:-${FOO:-x}}": "foo",
        "${UNSET:-${NOPE:-inner}}": "inner",
        "$$SET and $${SET}": "$SET and ${SET}",
        "cost: $5": "cost: $5",
    }
    for text, expected in cases.items():
        assert substitute(text, env) == (expected, []), text
    assert substitute("${NOPE}x", env) == ("x", ["NOPE"])
    for required in ("${NOPE:?must be set}", "${EMPTY:?}", "${NOPE?}"):
        with pytest.raises(ValueError, match="required variable"):
            substitute(required, env)


def test_compose_variables_extends_and_bind_paths_are_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / ".env").write_text("EXTRA_CAP=SYS_ADMIN\nTAG=1.2\n")
    (project / "base.yaml").write_text(
        "services:\n  hardened:\n    image: base\n    read_only: true\n    cap_drop: [ALL]\n"
    )
    (project / "compose.yaml").write_text(
        "services:\n"
        "  common:\n    image: app:${TAG}\n    privileged: ${PRIVILEGED:-false}\n"
        "  web:\n    extends: common\n    cap_add: ['${EXTRA_CAP}']\n"
        "  api:\n    extends: {service: hardened, file: base.yaml}\n"
        "    volumes: ['/var/../etc:/host-etc:ro', './data:/data']\n"
    )
    monkeypatch.setenv("PRIVILEGED", "true")  # the environment wins over .env and defaults
    code, report = _gate_json(str(project / "compose.yaml"), "--fail-on", "never")
    assert code == ExitCode.OK
    targets = {t["name"]: t for t in report["targets"]}
    web = {f["rule"]: f for f in targets["compose/shop/web"]["findings"]}
    assert web["PRIV-001"]["status"] == "fail"  # inherited from common, set by the environment
    assert web["PRIV-001"]["location"]["line"] == 4  # the base service's line
    assert targets["compose/shop/web"]["image"] == "app:1.2"
    api = {f["rule"]: f for f in targets["compose/shop/api"]["findings"]}
    assert api["MNT-001"]["status"] == "fail"  # /var/../etc is /etc
    assert "MNT-004" in targets["compose/shop/api"]["passed"]  # read_only from base.yaml
    (project / "compose.yaml").write_text("services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n")
    result = run_harden("gate", str(project / "compose.yaml"))
    assert result.code == ExitCode.INPUT
    assert "compose.yaml:3: services.web.image: required variable IMAGE" in result.output
    (project / "compose.yaml").write_text("services:\n  web:\n    extends: nowhere\n")
    result = run_harden("gate", str(project / "compose.yaml"))
    assert result.code == ExitCode.INPUT
    assert "extends an unknown service 'nowhere'" in result.output
    (project / "compose.yaml").write_text("services:\n  web:\n    cap_add: ['$MAYBE']\n")
    code, report = _gate_json(str(project / "compose.yaml"), "--fail-on", "critical")
    assert code == ExitCode.INCOMPLETE  # an unset variable: the deployment decides
    assert "variable MAYBE is not set" in report["scan"]["problems"][0]


def test_a_compose_env_file_that_cannot_be_read_is_a_located_error(tmp_path: Path) -> None:
    # python-dotenv would skip the line with a log message and leave PRIVILEGED unset
    (tmp_path / ".env").write_text("TAG=1.2\nPRIVILEGED='true\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: app:${TAG}\n    privileged: ${PRIVILEGED:-false}\n"
    )
    result = run_harden("gate", str(tmp_path / "compose.yaml"))
    assert result.code == ExitCode.INPUT
    assert f"{tmp_path / '.env'}:2: not a KEY=VALUE line" in result.output
    (tmp_path / ".env").write_bytes(b"TAG=1.2\n\xff\n")
    result = run_harden("gate", str(tmp_path / "compose.yaml"))
    assert result.code == ExitCode.INPUT
    assert f"{tmp_path / '.env'}:2: not valid UTF-8 text" in result.output
