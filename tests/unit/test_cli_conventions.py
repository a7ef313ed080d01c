"""The command-line habits Trivy and Checkov users bring: colour, quiet, several outputs,
a config file, HARDEN_* variables, a severity filter, completion, and a verdict in the
audit's every format. Each test runs harden as a user does (run_harden or a process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import DATA, run_harden

BAD = str(DATA / "gate" / "corpus" / "k8s" / "bad.yaml")
DOCKER = str(DATA / "audit" / "inspect" / "docker-20.10.json")
ESC = "\x1b["


def test_color_is_forced_on_a_pipe_and_no_color_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ESC not in run_harden("gate", BAD).stdout  # a pipe: no colour by default
    assert ESC in run_harden("gate", BAD, "--color").stdout  # CI logs
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESC not in run_harden("gate", BAD).stdout
    assert ESC in run_harden("gate", BAD, "--color").stdout  # the flag wins
    assert ESC in run_harden("--color", "gate", BAD).stdout  # also for the whole run
    assert ESC in run_harden("--color", "rules", "list").stdout  # rich output too


def test_quiet_silences_notes_and_summaries_not_results(tmp_path: Path) -> None:
    loud = run_harden("gate", BAD, "-o", f"sarif={tmp_path / 'a.sarif'}")
    assert "gate: FAILED" in loud.stdout  # the console summary
    quiet = run_harden("gate", BAD, "-o", f"sarif={tmp_path / 'b.sarif'}", "--quiet")
    assert (quiet.code, quiet.stdout, quiet.stderr) == (1, "", "")
    before = run_harden("-q", "gate", BAD, "-o", f"sarif={tmp_path / 'c.sarif'}")
    assert (before.code, before.stdout, before.stderr) == (1, "", "")  # as Trivy's `trivy -q`
    fixed = run_harden("fix", BAD, "-q")
    assert fixed.stderr == ""
    assert fixed.stdout.startswith("---")  # the diff is the result: it stays
    assert run_harden("rules", "list", "-q").code == 0  # every command takes it


def test_dash_is_stdout(tmp_path: Path) -> None:
    result = run_harden("gate", BAD, "--format", "json", "-o", "-")
    assert json.loads(result.stdout)["gate"]["passed"] is False
    both = run_harden("gate", BAD, "-o", "json=-", "-o", f"sarif={tmp_path / 'x.sarif'}")
    assert json.loads(both.stdout)["report_kind"] == "gate"  # the JSON alone, no summary
    assert (tmp_path / "x.sarif").is_file()


def test_one_gate_run_writes_every_report_and_a_console_verdict(tmp_path: Path) -> None:
    sarif, junit = tmp_path / "harden.sarif", tmp_path / "junit.xml"
    result = run_harden("gate", BAD, "--output", f"sarif={sarif}", "--output", f"junit={junit}")
    assert result.code == 1
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert ET.parse(junit).getroot().tag == "testsuites"
    assert "gate: FAILED" in result.stdout
    assert run_harden("gate", BAD, "-o", "sarif=").code == 2


def test_a_config_file_is_found_up_to_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".harden.yaml").write_text(
        "gate:\n  fail_on: never\n  output: [json=reports/gate.json]\n"
    )
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    result = run_harden("gate", BAD)
    assert result.code == 0  # fail_on: never
    assert json.loads((tmp_path / "reports" / "gate.json").read_text())["gate"]["passed"]
    assert run_harden("gate", BAD, "--fail-on", "high").code == 1  # the command line wins


def test_a_config_file_may_list_the_severities(tmp_path: Path) -> None:
    config = tmp_path / "ci.yaml"
    config.write_text("gate:\n  severity: [critical, high]\n")
    listed = run_harden("--config", str(config), "gate", BAD)
    assert listed.code == 1, listed.stderr
    flagged = run_harden("gate", BAD, "--severity", "critical,high")
    # the same table, after the title line (it holds the time of the run)
    assert listed.stdout.splitlines()[1:] == flagged.stdout.splitlines()[1:]


def test_a_bad_value_in_a_config_file_is_a_located_error(tmp_path: Path) -> None:
    config = tmp_path / "ci.yaml"
    config.write_text("gate:\n  fail_on: 1e400\n  allow_empty: [false]\n")
    bad = run_harden("--config", str(config), "gate", BAD)
    assert bad.code == 2
    assert f"{config}:2: gate.fail_on: '1e400' is not one of" in bad.stderr
    assert f"{config}:3: gate.allow_empty: [False] is not a value --allow-empty takes" in bad.stderr


def test_a_config_file_typo_is_a_located_error(tmp_path: Path) -> None:
    config = tmp_path / "ci.yaml"
    config.write_text("gate:\n  fail-on: high\n  polcy: p.yaml\n")
    result = run_harden("--config", str(config), "gate", BAD)
    assert result.code == 2
    assert f"{config}:3: gate.polcy: gate has no option 'polcy'" in result.stderr
    config.write_text("gat:\n  fail_on: high\n")
    assert "no command 'gat'" in run_harden("--config", str(config), "gate", BAD).stderr


def test_harden_variables_set_any_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARDEN_GATE_FAIL_ON", "never")
    monkeypatch.setenv("HARDEN_GATE_OUTPUT", f"sarif={tmp_path / 'env.sarif'}")
    assert run_harden("gate", BAD).code == 0
    assert (tmp_path / "env.sarif").is_file()
    monkeypatch.setenv("HARDEN_QUIET", "1")
    assert run_harden("gate", BAD).stdout == ""


def test_severity_filters_what_is_shown_not_the_verdict() -> None:
    result = run_harden("gate", BAD, "--format", "json", "--severity", "critical")
    assert result.code == 1
    shown = {f["severity"] for t in json.loads(result.stdout)["targets"] for f in t["findings"]}
    assert shown == {"critical"}
    bad = run_harden("gate", BAD, "--severity", "urgent")
    assert bad.code == 2
    assert "'urgent' is not a severity" in bad.stderr


def test_audit_fails_on_info_and_has_a_verdict_in_every_format(tmp_path: Path) -> None:
    assert run_harden("audit", "--input", DOCKER, "--fail-on", "info").code == 1
    report = json.loads(run_harden("audit", "--input", DOCKER, "--format", "json").stdout)
    assert report["gate"]["passed"] is False
    assert report["gate"]["fail_on"] == "high"
    html = run_harden("audit", "--input", DOCKER, "--format", "html").stdout
    assert '<div class="verdict fail">FAILED:' in html
    markdown = run_harden("audit", "--input", DOCKER, "--format", "markdown").stdout
    assert "FAILED:" in markdown.splitlines()[0]
    passing = run_harden("audit", "--input", DOCKER, "--fail-on", "never", "--format", "html")
    assert (passing.code, '<div class="verdict pass">' in passing.stdout) == (0, True)


def test_audit_takes_the_gate_policy_and_its_waivers(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nfail_on: critical\nwaivers:\n"
        "  - {rule: CAP-001, target: harden-test-explore3, reason: test rig needs it,"
        " owner: qa, expires: 2099-01-01}\n"
        "  - {rule: MNT-002, reason: the agent lists containers, owner: qa,"
        " expires: 2020-01-01}\n"
    )
    result = run_harden("audit", "--input", DOCKER, "--policy", str(policy), "--format", "json")
    report = json.loads(result.stdout)
    statuses = {
        (t["name"], f["rule"]): f["status"] for t in report["targets"] for f in t["findings"]
    }
    assert statuses[("harden-test-explore3", "CAP-001")] == "waived"
    assert report["gate"]["policy"] == str(policy)
    assert report["gate"]["expired"]  # an expired waiver fails whatever its severity
    assert result.code == 1
    typo = tmp_path / "typo.yaml"
    typo.write_text(
        "version: 1\nwaivers:\n  - {rule: CAP-01, reason: r r r, owner: o, expires: 2099-01-01}\n"
    )
    assert run_harden("audit", "--input", DOCKER, "--policy", str(typo)).code == 2


def test_completion_scripts_complete_commands_and_options() -> None:
    harden = str(Path(sys.executable).parent / "harden")
    for shell in ("bash", "zsh", "fish"):
        script = subprocess.run(
            [harden, "completion", shell], check=False, capture_output=True, text=True
        )
        assert script.returncode == 0
        assert "_HARDEN_COMPLETE" in script.stdout
    env = {**os.environ, "_HARDEN_COMPLETE": "bash_complete", "COMP_WORDS": "harden gate --fail",
           "COMP_CWORD": "2"}  # fmt: skip
    done = subprocess.run([harden], check=False, env=env, capture_output=True, text=True)
    assert "plain,--fail-on" in done.stdout
    assert run_harden("completion", "tcsh").code == 2


def _on_a_terminal(*args: str) -> str:
    """What harden prints on a terminal (a pseudo-terminal for stdout and stderr)."""
    import pty

    harden = str(Path(sys.executable).parent / "harden")
    pid, fd = pty.fork()
    if pid == 0:  # the child: harden on the terminal
        os.execv(harden, [harden, *args])
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode(errors="replace")


def test_a_long_gate_run_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    for index in range(12):
        (tmp_path / f"pod{index:02}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{index}}}\n"
            "spec:\n  containers: [{name: c, image: c}]\n"
        )
    out = str(tmp_path / "out.json")
    assert "12/12" in _on_a_terminal("gate", str(tmp_path), "-o", f"json={out}")  # the bar
    assert "12/12" not in _on_a_terminal("gate", str(tmp_path), "-o", f"json={out}", "-q")


@pytest.mark.root
def test_an_engine_that_denies_access_gets_a_hint(tmp_path: Path) -> None:
    """A socket harden may not open (root without DAC_OVERRIDE stands in for a user
    outside the docker group)."""
    import socket

    path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    path.chmod(0)
    harden = str(Path(sys.executable).parent / "harden")
    drop = "-dac_override,-dac_read_search"
    env = {**os.environ, "DOCKER_HOST": f"unix://{path}"}
    try:
        done = subprocess.run(
            ["setpriv", "--bounding-set", drop, "--inh-caps", drop, harden, "audit",
             "--source", "engine"],
            env=env, check=False, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        server.close()
    assert done.returncode == 4
    assert "permission denied; hint: run as root, join the docker group, or use --source proc" in (
        " ".join(done.stdout.split())
    )


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    """`harden explain BUNDLE | head -1`: exit 0 and nothing on stderr, every time."""
    bundle = tmp_path / "web"
    spec = Path(__file__).resolve().parents[2] / "profiles" / "workloads" / "web.yaml"
    assert run_harden("generate", str(spec), "-o", str(bundle)).code == 0
    harden = str(Path(sys.executable).parent / "harden")
    for _ in range(5):
        done = subprocess.run(
            ["bash", "-c", f'"{harden}" explain "{bundle}" | head -1 >/dev/null; '
             'echo "${PIPESTATUS[0]}"'],
            check=False, capture_output=True, text=True,
        )  # fmt: skip
        assert (done.stdout.strip(), done.stderr) == ("0", "")
