"""Cross-layer checks: every check has a fixture (a generated bundle plus hand edits)
that trips it, and no generated example bundle trips any check."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harden.generate.reader import read_layers
from harden.verify.crosslayer import CHECKS, run_checks
from tests.conftest import DATA, EXAMPLE_SPECS, run_harden

FIXTURES = DATA / "consistency"


def _write(files: dict[str, bytes], where: Path) -> Path:
    where.mkdir()
    for name, data in files.items():
        (where / name).write_bytes(data)
    return where


def _edit(bundle: Path, edit: dict[str, Any]) -> None:
    path = bundle / edit["file"]
    text = path.read_text()
    if "replace" in edit:
        old, new = edit["replace"]
        assert old in text, f"fixture edit does not apply to {edit['file']}: {old!r}"
        path.write_text(text.replace(old, new, 1))
        return
    doc = json.loads(text)
    op = "json_set" if "json_set" in edit else "json_append"
    where, value = edit[op]["path"], edit[op]["value"]
    target = doc
    for key in where[:-1] if op == "json_set" else where:
        target = target[key]
    if op == "json_set":
        target[where[-1]] = value
    else:
        target.append(value)
    path.write_text(json.dumps(doc, indent=2))


def _tripped(bundle: Path) -> set[str]:
    return {f.check.id for f in run_checks(read_layers(bundle))}


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_has_a_fixture_that_trips_it(
    check_id: str, tmp_path: Path, full_files: Callable[[str], dict[str, bytes]]
) -> None:
    fixture = yaml.safe_load((FIXTURES / f"{check_id}.yaml").read_text())
    bundle = _write(full_files(fixture["spec"]), tmp_path / "bundle")
    assert check_id not in _tripped(bundle)
    for edit in fixture["edits"]:
        _edit(bundle, edit)
    assert check_id in _tripped(bundle)


def test_every_check_has_its_tripping_fixture_and_no_fixture_is_stray() -> None:
    assert {p.stem for p in FIXTURES.glob("*.yaml")} == set(CHECKS)


@pytest.mark.parametrize("spec", sorted(EXAMPLE_SPECS))
def test_generated_bundles_trip_nothing(
    spec: str, tmp_path: Path, full_files: Callable[[str], dict[str, bytes]]
) -> None:
    bundle = _write(full_files(spec), tmp_path / "bundle")
    assert not [(f.check.id, f.evidence) for f in run_checks(read_layers(bundle))]


def test_evidence_names_what_contradicts(
    tmp_path: Path, full_files: Callable[[str], dict[str, bytes]]
) -> None:
    bundle = _write(full_files("every-field"), tmp_path / "bundle")
    _edit(bundle, {"file": "apparmor.profile", "replace": ["  capability net_raw,", "  #"]})
    found = [f.evidence for f in run_checks(read_layers(bundle))]
    assert found == ["NET_RAW is granted (capabilities.json) but AppArmor denies it: the workload "
                     "cannot use it"]  # fmt: skip


def test_verify_reports_conflicts_and_fails(
    tmp_path: Path, full_files: Callable[[str], dict[str, bytes]]
) -> None:
    out = tmp_path / "web"
    assert run_harden("generate", str(EXAMPLE_SPECS["web"]), "-o", str(out), "-q").code == 0
    (out / "apparmor.profile").write_bytes(full_files("web")["apparmor.profile"])
    _edit(out, {"file": "apparmor.profile", "replace": ["  deny mount,", "  mount,"]})
    result = run_harden("verify", str(out))
    assert result.code == 1, result.output
    assert "CONFLICT apparmor-mount-without-sys-admin" in result.stdout
    assert "edited since generated" not in result.stdout  # apparmor.profile was never listed
