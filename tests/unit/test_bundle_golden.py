"""Golden files: every text artefact of every example bundle, reviewed as a diff.

Refresh with `pytest --update-goldens` after an intended change. Compiled BPF/PFC and
the manifest (which hashes them) depend on the libseccomp version and are covered by
the simulation and determinism tests instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harden.generate.bundle import build_bundle
from harden.profile.loader import load_spec
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
SPECS = [
    *sorted((ROOT / "profiles" / "workloads").glob("*.yaml")),
    DATA / "specs" / "good" / "every-field.yaml",
]
_VERSIONED = (".bpf", ".pfc")


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_bundle_text_files_match_goldens(
    path: Path, golden: Callable[[Path, str | bytes], None]
) -> None:
    bundle = build_bundle(load_spec(path).spec)
    folder = DATA / "golden" / "bundles" / path.stem
    for name, data in sorted(bundle.files.items()):
        if name.endswith(_VERSIONED) or name == "manifest.json":
            continue
        golden(folder / name, data)
