"""Every form of every example spec against its golden file, and --all end to end:
generate writes a bundle that `harden verify` passes, byte-identical on a re-run."""

from __future__ import annotations

import filecmp
from collections.abc import Callable
from pathlib import Path

import pytest

from harden.profile.loader import load_spec
from tests.conftest import EXAMPLE_SPECS, Golden, run_harden

FORMS = (
    "capabilities.json", "seccomp.json", "docker-run.txt", "compose.yaml", "k8s-container.yaml",
    "k8s-pod.yaml", "oci-config.json", "apparmor.profile", "harden-blocks.cil", "userns.json",
    "spo-seccomp.yaml", "spo-apparmor.yaml", "spo-selinux.yaml", "spo-selinux-raw.yaml",
    "README.txt", "spec.yaml",
)  # fmt: skip
CASES = [
    (s, f)
    for s in sorted(EXAMPLE_SPECS)
    for f in (*FORMS, "module.cil")
    if f != "userns.json" or load_spec(EXAMPLE_SPECS[s]).spec.user_namespace is not None
]


@pytest.mark.parametrize(("spec", "form"), CASES, ids=[f"{s}-{f}" for s, f in CASES])
def test_form_matches_golden(
    spec: str, form: str, full_files: Callable[[str], dict[str, bytes]], golden: Golden
) -> None:
    files = full_files(spec)
    if form == "module.cil":
        form = next(n for n in files if n.endswith(".cil") and n != "harden-blocks.cil")
    # the blocks are the same for every workload: one golden file
    where = "bundles" if form == "harden-blocks.cil" else f"bundles/{spec}"
    golden(f"{where}/{form}", files[form])


def test_generate_all_then_verify_end_to_end(tmp_path: Path) -> None:
    out, again = tmp_path / "web", tmp_path / "web-again"
    spec = str(EXAMPLE_SPECS["web"])
    first = run_harden("generate", spec, "-o", str(out), "--all")
    assert first.code == 0, first.output
    assert "apparmor_parser compiled it" in first.output
    assert "secilc compiled it" in first.output
    assert run_harden("generate", spec, "-o", str(again), "--all", "-q").code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    _match, mismatch, errors = filecmp.cmpfiles(out, again, names, shallow=False)
    assert not mismatch, mismatch  # byte-identical on a re-run
    assert not errors
    verified = run_harden("verify", str(out))
    assert verified.code == 0, verified.output
    lines = verified.stdout.splitlines()
    for artefact in ("seccomp.json", "apparmor.profile", "harden-web.cil", "spo-selinux.yaml"):
        assert any(line.startswith("ok") and artefact in line for line in lines), artefact
    assert not any(line.startswith(("FAILED", "CONFLICT")) for line in lines)


def test_generate_without_all_keeps_todays_files(tmp_path: Path) -> None:
    result = run_harden("generate", str(EXAMPLE_SPECS["batch"]), "-o", str(tmp_path / "b"), "-q")
    assert result.code == 0, result.output
    names = {p.name for p in (tmp_path / "b").iterdir()}
    assert "apparmor.profile" not in names
    assert "README.txt" not in names
    assert {"seccomp.json", "capabilities.json", "docker-run.txt", "manifest.json"} <= names


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ('name: x\nfiles:\n  read: [/ok, "/etc/bad\\nmount,"]\n', "files.read[1]", "control"),
        ("name: x\nfiles:\n  write:\n    - /sys/fs/cgroup/**\n", "files.write[0]", "always denied"),
        ("name: x\nfiles:\n  read: ['/srv/say \"hi\"']\n", "files.read[0]", "SPO's abstract"),
        (
            "name: x\ncapabilities:\n  - {name: MAC_OVERRIDE, reason: all of it}\n",
            "capabilities[0].name",
            "neverallow",
        ),
        (
            "name: x\nuser: {uid: 1000, gid: 1000}\nuser_namespace: {size: 100}\n",
            "user_namespace.size",
            "cannot map user.uid 1000",
        ),
    ],
)
def test_unexpressible_specs_fail_naming_file_line_field(
    tmp_path: Path, spec: str, field: str, message: str
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(spec)
    out = tmp_path / "bundle"
    result = run_harden("generate", str(path), "-o", str(out), "--all")
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}:"), first
    assert f" {field}: " in first, first
    assert message in result.stderr
    assert not out.exists()  # nothing half-written
    assert list(tmp_path.iterdir()) == [path]


def test_a_pool_too_small_for_the_spec_is_refused(tmp_path: Path) -> None:
    pool = tmp_path / "subuid"
    pool.write_text("harden:100000:1000\n")
    out = tmp_path / "bundle"
    spec = str(EXAMPLE_SPECS["every-field"])
    result = run_harden("generate", spec, "-o", str(out), "--all", "--userns-pool", str(pool))
    assert result.code == 2
    assert "user_namespace.size" in result.stderr
    assert "too small" in result.stderr
    assert not out.exists()


def test_docker_run_lists_where_volumes_go_not_per_run_names() -> None:
    from harden.generate.forms import writable_dirs

    write = [
        "/var/lib/postgresql/**",
        "/dev/shm/PostgreSQL.*",  # a per-run name: no mount point
        "/proc/self/task/*/comm",
        "/run/postgresql/**",  # inside a tmpfs: writable already
        "/srv/data/report.txt",
        "/var/lib/postgresql/15/**",
    ]
    assert writable_dirs(write, ["/run", "/tmp"]) == ["/var/lib/postgresql", "/srv/data/report.txt"]
