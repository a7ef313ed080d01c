"""CI gate (issue 6): `harden gate` on generated manifests, `harden report merge` on host reports.

Whole processes, as CI runs them: wall time (best of REPEAT) and peak memory (the
child's maximum resident set, from getrusage). Manifests are one object per file, mixed
kinds (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod), one to three containers
each, some with init containers and pod-level security contexts. Host reports are
`harden audit --input` JSON of the captured inspect fixtures, 20 containers each.

    HARDEN_BENCH_GATE_SIZES=1000,10000 .venv/bin/python bench/run.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, VENV_BIN, header, row

REPEAT = 3
KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")


def _container(i: int, j: int) -> str:
    risky = i % 3 == 0
    added = "NET_ADMIN" if risky else "NET_BIND_SERVICE"
    sc = (
        "privileged: true"
        if risky
        else "allowPrivilegeEscalation: false\nreadOnlyRootFilesystem: true"
    )
    sc = sc.replace("\n", "\n" + " " * 4)
    return (
        f"- name: c{j}\n  image: registry.example/app-{i}:{j}\n  securityContext:\n    {sc}\n"
        f"    capabilities: {{drop: [ALL], add: [{added}]}}\n"
        f"  resources: {{limits: {{cpu: 500m, memory: 128Mi}}}}\n"
        f"  ports: [{{containerPort: 8080{', hostPort: 80' if i % 7 == 0 else ''}}}]\n"
    )


def _pod(i: int) -> str:
    containers = "".join(_container(i, j) for j in range(1 + i % 3))
    init = "initContainers:\n" + _indent(_container(i, 9), 0) if i % 5 == 0 else ""
    return (
        f"hostPID: {str(i % 11 == 0).lower()}\n"
        "securityContext: {runAsNonRoot: true, runAsUser: 1000,\n"
        "  seccompProfile: {type: RuntimeDefault}}\n"
        f"{init}containers:\n{containers}"
        "volumes: [{name: tmp, emptyDir: {}}]\n"
    )


def _indent(text: str, n: int) -> str:
    return "".join(" " * n + line + "\n" for line in text.splitlines())


def manifest(i: int) -> str:
    kind = KINDS[i % len(KINDS)]
    api = {"Job": "batch/v1", "CronJob": "batch/v1", "Pod": "v1"}.get(kind, "apps/v1")
    head = (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: app-{i}\n  namespace: ns-{i % 20}\n"
    )
    pod = _pod(i)
    if kind == "Pod":
        return head + "spec:\n" + _indent(pod, 2)
    template = "template:\n  metadata: {labels: {app: a}}\n  spec:\n" + _indent(pod, 4)
    if kind == "CronJob":
        return (
            head
            + "spec:\n  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n"
            + _indent(template, 6)
        )
    return head + "spec:\n  selector: {matchLabels: {app: a}}\n" + _indent(template, 2)


def _run(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"{argv[:3]} failed ({done.returncode}): {done.stderr[-800:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) / 1024


def _peak(argv: list[str]) -> float:
    """Peak RSS of one run, measured alone (ru_maxrss of children is a running maximum)."""
    script = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", script, *argv], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip()) / 1024


def _host_reports(folder: Path, count: int) -> list[str]:
    inspect = ROOT / "tests" / "data" / "audit" / "inspect"
    base = folder / "base.json"
    many = []
    for name in ("docker-20.10.json", "podman-4.json"):
        many += json.loads((inspect / name).read_text())
    containers = []
    for k in range(20):
        item = dict(many[k % len(many)])
        item["Id"] = f"{k:04d}" + str(item["Id"])[4:]
        item["Name"] = f"/svc-{k}"
        containers.append(item)
    (folder / "inspect.json").write_text(json.dumps(containers))
    subprocess.run(
        [
            str(VENV_BIN / "harden"),
            "audit",
            "--input",
            str(folder / "inspect.json"),
            "--format",
            "json",
            "-o",
            str(base),
            "--fail-on",
            "never",
        ],
        check=True,
    )
    document = json.loads(base.read_text())
    paths = []
    for n in range(count):
        document["scan"]["host"]["hostname"] = f"node-{n:04d}"
        path = folder / f"node-{n:04d}.json"
        path.write_text(json.dumps(document))
        paths.append(str(path))
    return paths


def main() -> None:
    sizes = [int(n) for n in os.environ.get("HARDEN_BENCH_GATE_SIZES", "1000,10000").split(",")]
    harden = str(VENV_BIN / "harden")
    header("gate: `harden gate DIR --format sarif` on generated manifests (issue 6)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in sizes:
            inputs = folder / f"m{size}"
            inputs.mkdir()
            for i in range(size):
                (inputs / f"app-{i:05d}.yaml").write_text(manifest(i))
            argv = [
                harden,
                "gate",
                str(inputs),
                "--format",
                "sarif",
                "-o",
                str(folder / "out.sarif"),
            ]
            _run(argv)  # warm-up: rule-pack cache, bytecode
            best = min(_run(argv)[0] for _ in range(REPEAT))
            containers = len(json.loads((folder / "out.sarif").read_text())["runs"][0]["results"])
            row(
                f"{size} manifests ({containers} failing results)",
                f"{best:.2f} s, peak {_peak(argv):.0f} MB",
            )
        header("report merge: `harden report merge` of host reports, HTML (issue 6)")
        reports = folder / "reports"
        reports.mkdir()
        paths = _host_reports(reports, 500)
        argv = [
            harden,
            "report",
            "merge",
            *paths,
            "--format",
            "html",
            "-o",
            str(folder / "fleet.html"),
        ]
        _run(argv)
        best = min(_run(argv)[0] for _ in range(REPEAT))
        row("500 host reports x 20 containers", f"{best:.2f} s, peak {_peak(argv):.0f} MB")


if __name__ == "__main__":
    main()
