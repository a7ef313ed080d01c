"""Pod Security judges what a pod writes at each level, as PSA's check code does, where
the upstream fixtures do not look: a pod-level value is judged even when every container
overrides it, ``privileged: true`` is one finding (not also seccomp, AppArmor and /proc),
a Deployment's own annotations are not its pods', a value no Kubernetes accepts is
unknown rather than passed, and engines' inspect objects are judged by the same rules."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from harden.audit.rules.model import Status
from harden.gate.run import GateRequest, gate
from tests.conftest import DATA

RESTRICTED_POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
{annotations}spec:
{pod}  securityContext:
    runAsNonRoot: true
    seccompProfile: {{type: RuntimeDefault}}
{pod_sc}  containers:
  - name: app
    image: app:1
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {{drop: [ALL]}}
{container_sc}"""


def _pod(annotations: str = "", pod: str = "", pod_sc: str = "", container_sc: str = "") -> str:
    return RESTRICTED_POD.format(
        annotations=annotations, pod=pod, pod_sc=pod_sc, container_sc=container_sc
    )


def _judge(tmp_path: Path, manifest: str, version: str = "") -> dict[str, Status]:
    """Rule id -> status of every PSS finding on the manifest's only container."""
    path = tmp_path / "pod.yaml"
    path.write_text(manifest)
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\npacks: [pss-baseline, pss-restricted]\n")
    request = GateRequest(
        (path,),
        "2026-01-01T00:00:00Z",
        datetime.date(2026, 1, 1),
        policy=policy,
        kubernetes_version=version,
    )
    (target,) = gate(request)[0].targets
    return {f.rule.id: f.status for f in target.findings}


def _failing(results: dict[str, Status]) -> set[str]:
    return {rule for rule, status in results.items() if status is Status.FAIL}


def test_the_restricted_pod_passes_everything(tmp_path: Path) -> None:
    results = _judge(tmp_path, _pod())
    assert not _failing(results)
    assert Status.ERROR not in results.values()


@pytest.mark.parametrize(
    ("field", "at_pod", "at_container", "rule"),
    [
        ("seccompProfile", "{type: Unconfined}", "{type: RuntimeDefault}", "PSSB-010"),
        ("appArmorProfile", "{type: Unconfined}", "{type: RuntimeDefault}", "PSSB-007"),
        ("seLinuxOptions", "{type: spc_t}", "{}", "PSSB-008"),
        ("runAsUser", "0", "1000", "PSSR-004"),
        ("windowsOptions", "{hostProcess: true}", "{hostProcess: false}", "PSSB-001"),
    ],
)
def test_a_pod_level_value_is_judged_whatever_the_container_says(
    tmp_path: Path, field: str, at_pod: str, at_container: str, rule: str
) -> None:
    manifest = _pod(container_sc=f"      {field}: {at_container}\n")
    if field == "seccompProfile":  # the restricted pod sets it already
        manifest = manifest.replace(
            "{type: RuntimeDefault}\n  containers", f"{at_pod}\n  containers"
        )
    else:
        manifest = manifest.replace("  containers:", f"    {field}: {at_pod}\n  containers:")
    # a restricted pod also needs a profile at the pod level: Unconfined there fails both
    expected = {rule, "PSSR-005"} if rule == "PSSB-010" else {rule}
    assert _failing(_judge(tmp_path, manifest)) == expected


def test_a_pod_runasnonroot_false_is_refused_under_a_container_true(tmp_path: Path) -> None:
    manifest = _pod(container_sc="      runAsNonRoot: true\n").replace(
        "runAsNonRoot: true\n    seccomp", "runAsNonRoot: false\n    seccomp"
    )
    assert _failing(_judge(tmp_path, manifest)) == {"PSSR-003"}


def test_privileged_is_one_finding_not_also_seccomp_apparmor_and_proc(tmp_path: Path) -> None:
    manifest = _pod(container_sc="      privileged: true\n").replace(
        "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"
    )
    assert _failing(_judge(tmp_path, manifest)) == {"PSSB-003", "PSSR-002"}


def test_user_namespace_pods_may_run_as_root_and_unmask_proc_from_1_35(tmp_path: Path) -> None:
    manifest = _pod(
        pod="  hostUsers: false\n",
        pod_sc="    runAsUser: 0\n",
        container_sc="      procMount: Unmasked\n",
    ).replace("runAsNonRoot: true", "runAsNonRoot: false")
    assert _failing(_judge(tmp_path, manifest, "v1.34")) == {"PSSB-009", "PSSR-003", "PSSR-004"}
    assert _failing(_judge(tmp_path, manifest, "v1.35")) == {"PSSR-007"}


def test_the_pod_templates_annotations_count_not_the_workloads(tmp_path: Path) -> None:
    deployment = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {{container.apparmor.security.beta.kubernetes.io/app: unconfined}}
spec:
  template:
    metadata:
      annotations: {{{template}}}
    spec:
      securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
      - name: app
        image: app:1
        securityContext: {{allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}
"""
    assert not _failing(_judge(tmp_path, deployment.format(template="")))
    unconfined = "container.apparmor.security.beta.kubernetes.io/app: unconfined"
    assert _failing(_judge(tmp_path, deployment.format(template=unconfined))) == {"PSSB-007"}


def test_names_are_matched_exactly(tmp_path: Path) -> None:
    manifest = _pod().replace("drop: [ALL]", "drop: [all], add: [CAP_NET_BIND_SERVICE]")
    assert _failing(_judge(tmp_path, manifest)) == {"PSSB-004", "PSSR-006"}


def test_image_volumes_are_allowed_at_restricted(tmp_path: Path) -> None:
    manifest = _pod(pod="  volumes: [{name: tools, image: {reference: 'tools:1'}}]\n")
    assert not _failing(_judge(tmp_path, manifest))


@pytest.mark.parametrize(
    ("where", "rule"),
    [
        ("      seccompProfile: {type: Default}\n", "PSSB-010"),
        ("      appArmorProfile: {type: unconfined}\n", "PSSB-007"),
        ("      procMount: Masked\n", "PSSB-009"),
    ],
)
def test_a_value_kubernetes_refuses_is_unknown_never_passed(
    tmp_path: Path, where: str, rule: str
) -> None:
    assert _judge(tmp_path, _pod(container_sc=where))[rule] is Status.ERROR


def test_engines_are_judged_by_the_same_rules(tmp_path: Path) -> None:
    """A privileged podman container with seccomp=unconfined and host namespaces (the
    gate corpus' inspect dump): its own causes fail, privileged does not add more."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\npacks: [pss-baseline, pss-restricted]\n")
    request = GateRequest(
        (DATA / "gate" / "corpus" / "inspect.json",),
        "2026-01-01T00:00:00Z",
        datetime.date(2026, 1, 1),
        policy=policy,
    )
    targets = {t.name: t for t in gate(request)[0].targets}
    debug = {f.rule.id: f.status for f in targets["debug"].findings}
    assert _failing(debug) == {
        "PSSB-002",
        "PSSB-003",
        "PSSB-010",
        "PSSR-002",
        "PSSR-005",
        "PSSR-006",
    }
    assert Status.ERROR not in debug.values()
    assert debug["PSSB-007"] is debug["PSSB-009"] is Status.PASS
