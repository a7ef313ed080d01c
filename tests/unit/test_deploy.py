"""deploy/: the fleet manifests are valid Kubernetes objects and pass harden's own gate.

Kubernetes cannot run here: every document is validated against the JSON schema of its
kind from the Kubernetes v1.37.0 OpenAPI (tests/data/k8s-schema, with its provenance),
checked for what the DaemonSet must mount and keep, and gated by harden itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from harden.errors import ExitCode
from tests.conftest import DATA, ROOT, run_harden

DEPLOY = ROOT / "deploy"
SCHEMAS = DATA / "k8s-schema" / "v1.37.0"
KINDS = {
    ("apps/v1", "DaemonSet"): "daemonset-apps-v1.json",
    ("v1", "Namespace"): "namespace-v1.json",
    ("v1", "ServiceAccount"): "serviceaccount-v1.json",
}
MANIFESTS = sorted(DEPLOY.glob("*.yaml"))


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _validator(schema_file: str) -> jsonschema.protocols.Validator:
    definitions = json.loads((SCHEMAS / "_definitions.json").read_text())
    resource = Resource.from_contents(definitions, default_specification=DRAFT202012)
    # the schemas' $id is https://kubernetes.io/api/...: "/api/_definitions.json" resolves there
    uri = "https://kubernetes.io/api/_definitions.json"
    registry: Registry[Any] = Registry().with_resource(uri, resource)
    schema = json.loads((SCHEMAS / schema_file).read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_document_is_valid_against_the_kubernetes_schema(path: Path) -> None:
    for document in _documents(path):
        kind = (document.get("apiVersion"), document.get("kind"))
        assert kind in KINDS, f"{path.name}: no schema vendored for {kind}"
        errors = sorted(_validator(KINDS[kind]).iter_errors(document), key=str)
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_catches_a_misspelt_field() -> None:
    (daemonset,) = [
        d for d in _documents(DEPLOY / "harden-daemonset.yaml") if d["kind"] == "DaemonSet"
    ]
    daemonset["spec"]["template"]["spec"]["hostPid"] = True  # hostPID, misspelt
    errors = list(_validator(KINDS[("apps/v1", "DaemonSet")]).iter_errors(daemonset))
    assert any("hostPid" in e.message for e in errors)


def _daemonset() -> dict[str, Any]:
    (found,) = [d for d in _documents(DEPLOY / "harden-daemonset.yaml") if d["kind"] == "DaemonSet"]
    return found


def test_the_daemonset_reads_every_runtime_and_keeps_little() -> None:
    ds = _daemonset()
    template = ds["spec"]["template"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    pod = template["spec"]
    assert pod["hostPID"] is True
    assert not pod.get("hostNetwork")
    assert not pod.get("hostIPC")
    assert pod["automountServiceAccountToken"] is False
    assert pod["tolerations"] == [{"operator": "Exists"}]
    (container,) = pod["containers"]
    volumes = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert {v["name"] for v in pod["volumes"]} == set(mounts)
    # every runtime's socket through the node's /run, where detection looks (HARDEN_RUN);
    # only directories every node has: the kubelet creates nothing on the node
    types = {v["name"]: v["hostPath"].get("type") for v in pod["volumes"] if "hostPath" in v}
    assert types == {
        "proc": "Directory",
        "cgroup": "Directory",
        "run": "Directory",
        "reports": "DirectoryOrCreate",
    }
    assert volumes["run"] == "/run"
    assert volumes["proc"] == "/proc"
    writable = {n for n, m in mounts.items() if not m.get("readOnly")}
    assert writable == {"reports", "tmp"}
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert not sc.get("privileged")
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["SYS_PTRACE", "DAC_READ_SEARCH"]}
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HARDEN_PROC"] == mounts["proc"]["mountPath"]
    assert env["HARDEN_RUN"] == mounts["run"]["mountPath"]
    assert volumes["cgroup"] == "/sys/fs/cgroup"
    assert mounts["cgroup"]["mountPath"] == env["HARDEN_SYS"] + "/fs/cgroup"
    script = container["args"][0]
    assert 'harden audit --format json -o "/reports/${NODE_NAME}.json"' in script


def test_the_namespace_and_service_account() -> None:
    documents = {d["kind"]: d for d in _documents(DEPLOY / "harden-daemonset.yaml")}
    namespace = documents["Namespace"]["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert documents["ServiceAccount"]["automountServiceAccountToken"] is False
    assert (
        documents["DaemonSet"]["spec"]["template"]["spec"]["serviceAccountName"]
        == (documents["ServiceAccount"]["metadata"]["name"])
    )
    assert {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}.isdisjoint(documents)


def test_harden_gates_its_own_deployment() -> None:
    result = run_harden("gate", str(DEPLOY), "--format", "json")
    assert result.code == ExitCode.OK, result.output
    document = json.loads(result.stdout)
    waived = [f for t in document["targets"] for f in t["findings"] if f["status"] == "waived"]
    assert {f["rule"] for f in waived} == {
        "NS-002",
        "PSSB-002",
        "CAP-001",
        "CAP-002",
        "PSSB-004",
        "MNT-001",
        "MNT-002",
        "PSSB-005",
        "USR-001",
    }
    assert all(f["accepted"]["how"] == "inline" for f in waived)
    strict = run_harden("gate", str(DEPLOY), "--fail-on", "medium")
    assert strict.code == ExitCode.FAILED  # CAP-003: two capabilities are kept, on purpose
