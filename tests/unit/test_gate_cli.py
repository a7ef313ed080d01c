"""`harden gate` and `harden report merge` as a user runs them: exit codes, bad input,
every format carrying the same counts, hostile names shown literally, determinism."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harden.errors import ExitCode
from harden.report.formats import Format
from harden.report.text import shown
from tests.conformance import junit_problems, sarif_problems
from tests.conftest import DATA, ROOT, run_harden

CORPUS = DATA / "gate" / "corpus"
GOOD = CORPUS / "k8s" / "good.yaml"
BAD = CORPUS / "k8s" / "bad.yaml"
HOSTILE = (
    "\x1b]0;pwned\x07\x1b[31m[red]<script>alert(1)</script>&amp;\"'</testcase>]]>\u202e|*_@here"
)


def _gate(*args: str) -> tuple[int, str]:
    result = run_harden("gate", *args)
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    return result.code, result.output


def test_exit_codes_pass_fail_incomplete(tmp_path: Path) -> None:
    assert _gate(str(GOOD))[0] == ExitCode.OK
    code, output = _gate(str(BAD))
    assert code == ExitCode.FAILED
    assert "gate: FAILED" in output
    assert _gate(str(BAD), "--fail-on", "never")[0] == ExitCode.OK
    custom = tmp_path / "crd.yaml"
    custom.write_text(
        GOOD.read_text() + "---\napiVersion: x.io/v1\nkind: Widget\nmetadata: {name: w}\n"
    )
    code, output = _gate(str(custom))
    assert code == ExitCode.INCOMPLETE
    assert "unknown kind 'Widget'" in output
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nignore_kinds: [Widget]\n")
    assert _gate(str(custom), "--policy", str(policy))[0] == ExitCode.OK


def _bomb() -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\nkind: Pod\napiVersion: v1\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.yaml", "kind: Pod\nspec: [\n", "broken.yaml:3: not valid YAML"),
        (
            "dup.yaml",
            "apiVersion: v1\nkind: Pod\nkind: Job\n",
            "dup.yaml:3: kind: duplicate key 'kind'",
        ),
        ("bomb.yaml", _bomb(), "alias bomb"),
        (
            "helm.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n",
            "helm.yaml:4: an unrendered Helm template",
        ),
        (
            "tagged.yaml",
            "apiVersion: v1\nkind: !!python/object:os.system Pod\n",
            "unsupported YAML tag",
        ),
        (
            "notes.yaml",
            "just: some\nyaml: here\n",
            "not a harden input: YAML that is neither Kubernetes objects nor a compose file",
        ),
        ("inspect.json", '[{"Id": "abc"}]', "not a container inspect object"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    bad = tmp_path / name
    bad.write_text(content)
    out = tmp_path / "out.sarif"
    code, output = _gate(str(bad), "--format", "sarif", "-o", str(out))
    assert code == ExitCode.INPUT
    assert message in output
    assert not out.exists()


def test_a_50_mb_manifest_is_refused_quickly(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("w") as handle:
        handle.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n")
        handle.write("  k: " + "x" * (50 << 20) + "\n")
    code, output = _gate(str(huge))
    assert code == ExitCode.INPUT
    assert "the limit is 8388608 bytes" in output


def test_every_bad_file_is_listed_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("kind: Pod\nspec: [\n")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Pod\nkind: Pod\n")
    code, output = _gate(str(tmp_path))
    assert code == ExitCode.INPUT
    assert "a.yaml:3" in output
    assert "b.yaml:3" in output


def test_a_field_of_the_wrong_type_is_an_unknown_finding_not_a_pass(tmp_path: Path) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text(
        GOOD.read_text().replace(
            "allowPrivilegeEscalation: false", 'allowPrivilegeEscalation: "no"'
        )
    )
    code, output = _gate(str(odd), "--format", "json")
    assert code == ExitCode.INCOMPLETE
    document = json.loads(output)
    errors = [f for t in document["targets"] for f in t["findings"] if f["status"] == "error"]
    assert errors
    assert all("must be a boolean" in f["message"] for f in errors)
    assert {f["rule"] for f in errors} >= {"SEC-003"}


def _counts(fmt: str, text: str) -> dict[str, int]:
    if fmt == "json":
        summary = json.loads(text)["summary"]["status"]
        return {"fail": summary["fail"], "waived": summary["waived"], "error": summary["error"]}
    if fmt == "sarif":
        results = json.loads(text)["runs"][0]["results"]
        waived = sum(1 for r in results if r.get("suppressions"))
        return {
            "fail": len(results) - waived,
            "waived": waived,
            "error": len(
                json.loads(text)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
            ),
        }
    if fmt == "junit":
        root = ET.fromstring(text)
        skipped = root.findall(".//skipped")
        waived = sum(1 for s in skipped if s.get("message", "").startswith("waived"))
        return {
            "fail": int(root.get("failures", "-1")),
            "waived": waived,
            "error": int(root.get("errors", "-1")),
        }
    if fmt == "markdown":
        row = text.split("\n")[4].strip("|").split("|")
        return {"fail": sum(int(c) for c in row[1:6]), "waived": int(row[6]), "error": int(row[7])}
    if fmt == "html":
        cards = {
            label: int(n)
            for n, label in re.findall(
                r'<div class="n">(\d+)</div><div class="l">(\w+)</div>', text
            )
        }
        return {
            "fail": sum(cards[s] for s in ("critical", "high", "medium", "low", "info")),
            "waived": cards["waived"],
            "error": cards["unknown"],
        }
    summary = re.search(
        r"(\d+) critical, (\d+) high, (\d+) medium, (\d+) low.*?(\d+) unknown"
        r".*?(?:, (\d+) waived)?$",
        text,
        re.M,
    )
    assert summary is not None, text
    return {
        "fail": sum(int(summary[i]) for i in range(1, 5)),
        "waived": int(summary[6] or 0),
        "error": int(summary[5]),
    }


def test_every_format_carries_the_same_counts_and_is_deterministic(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nwaivers:\n  - {rule: RES-00?, reason: sized by the platform, owner: ops,\n"
        "     expires: 2999-01-01}\n"
    )
    odd = tmp_path / "odd.yaml"
    odd.write_text(
        GOOD.read_text().replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: 1")
    )
    seen = {}
    for fmt in Format:
        args = [
            str(BAD),
            str(odd),
            str(CORPUS / "compose"),
            "--policy",
            str(policy),
            "--format",
            fmt.value,
        ]
        first = _gate(*args, "-o", str(tmp_path / f"1.{fmt.value}"))
        second = _gate(*args, "-o", str(tmp_path / f"2.{fmt.value}"))
        assert first[0] == second[0] == ExitCode.FAILED
        text = (tmp_path / f"1.{fmt.value}").read_text()
        text = re.sub(r"20\d\d-\d\d-\d\dT[\d:]+Z", "T", text)
        again = re.sub(r"20\d\d-\d\d-\d\dT[\d:]+Z", "T", (tmp_path / f"2.{fmt.value}").read_text())
        assert text == again, fmt
        seen[fmt.value] = _counts(fmt.value, text)
    assert len({json.dumps(c, sort_keys=True) for c in seen.values()}) == 1, seen
    assert seen["json"]["fail"] > 0
    assert seen["json"]["waived"] > 0
    assert seen["json"]["error"] > 0


def test_hostile_names_stay_literal_in_every_format(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.yaml"
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": HOSTILE, "namespace": HOSTILE, "annotations": {HOSTILE: HOSTILE}},
        "spec": {
            "containers": [
                {"name": HOSTILE, "image": HOSTILE, "securityContext": {"privileged": True}}
            ]
        },
    }
    hostile.write_text(json.dumps(doc))
    for fmt in Format:
        out = tmp_path / f"out.{fmt.value}"
        code, _ = _gate(str(hostile), "--format", fmt.value, "-o", str(out))
        assert code == ExitCode.FAILED
        text = out.read_text()
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]", text), fmt
        if fmt is Format.JSON:
            assert json.loads(text)["targets"][0]["name"] == f"Pod/{HOSTILE}/{HOSTILE}/{HOSTILE}"
        elif fmt is Format.SARIF:
            results = json.loads(text)["runs"][0]["results"]
            message = results[0]["message"]["text"]  # what code review shows a person
            assert shown(f"Pod/{HOSTILE}/{HOSTILE}/{HOSTILE}") in message
            assert not re.search(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", message)
            assert sarif_problems(text) == []
        elif fmt is Format.JUNIT:
            assert junit_problems(text) == []
            suite = ET.fromstring(text).find("testsuite")
            assert suite is not None
            assert "<script>" in suite.get("name", "")
            assert "\\x1b" in suite.get("name", "")
        elif fmt is Format.HTML:
            assert "<script>alert" not in text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        elif fmt is Format.MARKDOWN:
            assert "<script>" not in text
            assert "&lt;script&gt;" in text
            assert "@here" not in text
        else:
            assert "Pod/\\x1b]0;pwned\\x07" in text


def test_markdown_stays_under_its_size_limit(tmp_path: Path) -> None:
    many = tmp_path / "many.yaml"
    many.write_text(
        "\n---\n".join(
            BAD.read_text().replace("name: debug", f"name: debug-{i}") for i in range(60)
        )
    )
    code, output = _gate(str(many), "--format", "markdown")
    assert code == ExitCode.FAILED
    assert len(output.encode()) <= 60_000
    assert "more findings are not shown here" in output


def test_write_baseline_then_gate_on_new_findings_only(tmp_path: Path) -> None:
    baseline = tmp_path / ".harden-baseline.json"
    assert _gate(str(BAD), "--write-baseline", str(baseline))[0] == ExitCode.OK
    assert _gate(str(BAD), "--baseline", str(baseline))[0] == ExitCode.OK
    _code, output = _gate(str(BAD), "--baseline", str(baseline), "--format", "json")
    assert json.loads(output)["summary"]["status"]["fail"] == 0


def test_report_merge_of_host_reports(tmp_path: Path) -> None:
    inputs = []
    for i, name in enumerate(("docker-20.10.json", "podman-4.json", "docker-20.10.json")):
        out = tmp_path / f"node-{i}.json"
        result = run_harden(
            "audit",
            "--input",
            str(DATA / "audit" / "inspect" / name),
            "--format",
            "json",
            "-o",
            str(out),
        )
        document = json.loads(out.read_text())
        document["scan"]["host"]["hostname"] = f"node-{i}"
        out.write_text(json.dumps(document))
        inputs.append(str(out))
        assert result.code == ExitCode.FAILED
    singles = [json.loads(Path(p).read_text())["summary"] for p in inputs]
    result = run_harden("report", "merge", *inputs, "--format", "json")
    assert result.code == ExitCode.FAILED, result.output
    merged = json.loads(result.stdout)
    assert merged["report_kind"] == "fleet"
    assert merged["hosts"] == ["node-0", "node-1", "node-2"]
    assert merged["summary"]["targets"] == sum(s["targets"] for s in singles)
    for status in ("fail", "pass", "error", "skipped", "manual"):
        assert merged["summary"]["status"][status] == sum(s["status"][status] for s in singles)
    again = tmp_path / "fleet.json"
    again.write_text(result.stdout)
    twice = run_harden("report", "merge", str(again), "--format", "json")
    assert json.loads(twice.stdout)["summary"] == merged["summary"]
    html = run_harden("report", "merge", *inputs, "--format", "html")
    assert "Hosts, worst first" in html.stdout
    assert "node-1" in html.stdout


def test_report_merge_in_workers_equals_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harden.report import merge
    from harden.report.formats import render

    node = tmp_path / "node.json"
    run_harden(
        "audit",
        "--input",
        str(DATA / "audit" / "inspect" / "docker-20.10.json"),
        "--format",
        "json",
        "-o",
        str(node),
    )
    inputs = []
    for i in range(9):
        document = json.loads(node.read_text())
        document["scan"]["host"]["hostname"] = f"node-{i}"
        inputs.append(tmp_path / f"node-{i}.json")
        inputs[-1].write_text(json.dumps(document))
    monkeypatch.setattr(merge, "PARALLEL_FROM", 2)
    alone, workers = (
        render(merge.merge(inputs, generated_at="T", tool_version="v", jobs=jobs), Format.JSON)
        for jobs in (1, 2)
    )
    assert workers == alone
    assert json.loads(workers)["hosts"] == [f"node-{i}" for i in range(9)]


def test_report_merge_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    bad = tmp_path / "node.json"
    bad.write_text('{"kind": "harden-baseline"}')
    result = run_harden("report", "merge", str(bad), "-o", str(tmp_path / "fleet.html"))
    assert result.code == ExitCode.INPUT
    assert "not a harden report" in result.output
    assert not (tmp_path / "fleet.html").exists()


def test_sarif_is_what_github_code_scanning_reads(tmp_path: Path) -> None:
    """GitHub's SARIF support: version 2.1.0, rules with ids, help and a numeric
    security-severity, results whose ruleId/ruleIndex name a rule, a message, a relative
    file location with a start line, and partialFingerprints that do not depend on lines."""
    out = tmp_path / "harden.sarif"
    code, _ = _gate(str(BAD), str(CORPUS / "compose"), "--format", "sarif", "-o", str(out))
    assert code == ExitCode.FAILED
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["shortDescription"]["text"]
        assert rule["help"]["text"]
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    assert run["results"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert not physical["artifactLocation"]["uri"].startswith("file:")
        assert physical["region"]["startLine"] >= 1
        assert len(result["partialFingerprints"]["harden/v1"]) == 32


def test_host_findings_get_a_stable_synthetic_sarif_location(tmp_path: Path) -> None:
    out = tmp_path / "host.sarif"
    inspect = DATA / "audit" / "inspect" / "podman-4.json"
    result = run_harden("audit", "--input", str(inspect), "--format", "sarif", "-o", str(out))
    assert result.code == ExitCode.FAILED
    again = tmp_path / "again.sarif"
    run_harden("audit", "--input", str(inspect), "--format", "sarif", "-o", str(again))
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(out.read_text())["runs"][0]["results"]
    ]
    assert uris
    assert all(u.startswith("harden-runtime/localhost/") for u in uris)
    first = [r["partialFingerprints"] for r in json.loads(out.read_text())["runs"][0]["results"]]
    second = [r["partialFingerprints"] for r in json.loads(again.read_text())["runs"][0]["results"]]
    assert first == second


def test_many_workers_make_the_same_report_as_one(tmp_path: Path) -> None:
    import datetime

    from harden.gate.run import GateRequest, gate
    from harden.report.formats import render

    def report(jobs: int, *paths: Path) -> str:
        request = GateRequest(paths, "T", datetime.date(2026, 1, 1), jobs=jobs, parallel_from=1)
        return render(gate(request)[0], Format.JSON)

    paths = (CORPUS / "k8s", CORPUS / "compose", CORPUS / "inspect.json")
    assert report(2, *paths) == report(1, *paths)
    (tmp_path / "a.yaml").write_text("kind: Pod\nspec: [\n")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Pod\nkind: Pod\n")
    errors = []
    for jobs in (1, 2):
        with pytest.raises(Exception) as raised:  # noqa: PT011 - compared below
            report(jobs, tmp_path, *paths)
        errors.append(raised.value.diagnostics())  # type: ignore[attr-defined]
    assert errors[0] == errors[1]
    assert "a.yaml:3" in errors[0]


def test_gate_and_fleet_json_follow_the_report_schema(tmp_path: Path) -> None:
    import jsonschema

    from harden.resources import data_dir

    schema = json.loads((data_dir("reports") / "audit-report.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    code, output = _gate(str(CORPUS), "--format", "json")
    assert code == ExitCode.FAILED
    gate_doc = json.loads(output)
    assert not [e.message for e in validator.iter_errors(gate_doc)][:3]
    assert gate_doc["report_kind"] == "gate"
    assert gate_doc["gate"]["passed"] is False
    node = tmp_path / "node.json"
    run_harden(
        "audit",
        "--input",
        str(DATA / "audit" / "inspect" / "podman-4.json"),
        "--format",
        "json",
        "-o",
        str(node),
    )
    merged = run_harden("report", "merge", str(node), str(node), "--format", "json")
    fleet = json.loads(merged.stdout)
    assert not [e.message for e in validator.iter_errors(fleet)][:3]


def test_compose_labels_waive_and_custom_kinds_with_a_pod_template_are_read(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  web:\n    image: web\n    ports: ['80:8080']\n    labels:\n"
        "      - harden.dev/waive.PSSB-006=expires=2999-01-01; the load balancer expects 80\n"
    )
    code, output = _gate(str(compose), "--format", "json", "--fail-on", "never")
    assert code == ExitCode.OK
    findings = {f["rule"]: f for f in json.loads(output)["targets"][0]["findings"]}
    for covered in ("NET-001", "NET-002"):  # one published port: one finding, one fix
        assert findings[covered]["status"] == "skipped"
        assert findings[covered]["message"].startswith("covered by PSSB-006")
    net = findings["PSSB-006"]
    assert net["status"] == "waived"
    assert net["accepted"]["how"] == "inline"
    assert net["accepted"]["expires"] == "2999-01-01"
    assert net["location"]["line"] == 4
    rollout = tmp_path / "rollout.yaml"
    rollout.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        "        - {name: app, image: app, securityContext: {privileged: true}}\n"
    )
    code, output = _gate(str(rollout), "--format", "json")
    assert code == ExitCode.FAILED
    assert json.loads(output)["targets"][0]["name"] == "Rollout/default/r/app"


def test_privileged_is_one_failing_finding_that_lists_what_it_implies(tmp_path: Path) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: c\n      image: app:1\n"
        "      securityContext:\n"
        "        {privileged: true, runAsNonRoot: true, readOnlyRootFilesystem: true}\n"
        "      resources: {limits: {memory: 64Mi, cpu: '1'}}\n"
        "      livenessProbe: {exec: {command: [true]}}\n"
    )
    code, output = _gate(str(pod), "--format", "json")
    assert code == ExitCode.FAILED
    target = json.loads(output)["targets"][0]
    failing = [f["rule"] for f in target["findings"] if f["status"] == "fail"]
    assert failing == ["PRIV-001"]
    cause = next(f for f in target["findings"] if f["rule"] == "PRIV-001")
    assert {"every capability", "no seccomp filter", "every host device"} <= set(cause["detail"])
    covered = [f for f in target["findings"] if f["message"].startswith("covered by PRIV-001")]
    assert {"CAP-001", "SEC-001", "MNT-005", "DEV-002", "PSSB-003"} <= {f["rule"] for f in covered}
    assert target["score"] <= 39  # a critical failure never looks almost fine


def test_a_published_port_gets_one_fix(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: web\n    ports: ['80:80']\n")
    _code, output = _gate(str(compose), "--format", "json", "--fail-on", "never")
    findings = json.loads(output)["targets"][0]["findings"]
    on_the_port = [f for f in findings if f["status"] == "fail" and f["location"]["line"] == 4]
    assert [f["rule"] for f in on_the_port] == ["PSSB-006"]


def test_a_bundle_names_its_lsm_profiles_as_generate_did(tmp_path: Path) -> None:
    from harden.audit.sources import bundle

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        (ROOT / "profiles" / "workloads" / "web.yaml")
        .read_text()
        .replace("name: web", "name: my_app.web")
    )
    out = tmp_path / "out"
    assert run_harden("generate", str(spec), "-o", str(out)).code == ExitCode.OK
    (out / "apparmor.profile").write_text("")  # what --all adds, by the names it uses
    (out / "harden-my-app-web.cil").write_text("")
    state = bundle.target(out)
    assert state.fact("apparmor.profile").value == "harden-my-app-web"  # type: ignore[union-attr]
    assert state.fact("selinux.type").value == "harden-my-app-web.process"  # type: ignore[union-attr]
