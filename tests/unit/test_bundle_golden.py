"""Golden files: every text artefact of every example bundle, reviewed as a diff.

Refresh with `pytest --update-goldens` after an intended change. Compiled BPF/PFC and
the manifest (which hashes them) depend on the libseccomp version and are covered by
the simulation and determinism tests instead. A bundle without --all shares its spec,
capability and seccomp files with the --all goldens (test_bundle_forms.py); the forms
that name the LSM profiles under --all have their own golden in ``core/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harden.generate.bundle import build_bundle
from harden.profile.loader import load_spec
from tests.conftest import DATA, Golden

ROOT = Path(__file__).resolve().parents[2]
SPECS = [
    *sorted((ROOT / "profiles" / "workloads").glob("*.yaml")),
    DATA / "specs" / "good" / "every-field.yaml",
]
_VERSIONED = (".bpf", ".pfc")
LSM_FORMS = frozenset({"compose.yaml", "docker-run.txt", "k8s-container.yaml", "oci-config.json"})


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_bundle_text_files_match_goldens(path: Path, golden: Golden) -> None:
    bundle = build_bundle(load_spec(path).spec)
    for name, data in sorted(bundle.files.items()):
        if name.endswith(_VERSIONED) or name == "manifest.json":
            continue
        folder = f"bundles/{path.stem}/core" if name in LSM_FORMS else f"bundles/{path.stem}"
        golden(f"{folder}/{name}", data)
