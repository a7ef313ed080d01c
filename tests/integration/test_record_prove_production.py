"""Profiles that survive production (issue 15): PostgreSQL and memcached recorded from a
SMALL exercise with the eBPF recorder, then proven under a HEAVY, different load.

The load is pgbench (initialisation, 8 writing clients), CHECKPOINT, VACUUM, CREATE
INDEX, a parallel query and CREATE/DROP DATABASE, then a SIGKILL and a restart (crash
recovery) for PostgreSQL; 64 binary-protocol connections and every ``stats`` group for
memcached. Zero false denies (the proof passes) and no silent denial: the same run with
unlisted syscalls logged instead of denied leaves no kernel record of the workload.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PREFIX
from tests.integration.test_record_prove_workloads import harden, prove, record
from tests.workloads import MEMCACHED, POSTGRES, PRODUCTION, Workload

pytestmark = [pytest.mark.docker, pytest.mark.root, pytest.mark.slow]


@pytest.fixture(scope="module")
def production_image(service_image: Callable[..., str]) -> Callable[[Workload], str]:
    return lambda workload: service_image(workload.packages, workload.setup)


@pytest.mark.parametrize("workload", PRODUCTION, ids=lambda w: w.name)
def test_small_recording_survives_a_heavy_different_load(
    workload: Workload, production_image: Callable[[Workload], str], tmp_path: Path
) -> None:
    image = production_image(workload)
    spec = tmp_path / f"{workload.name}.yaml"
    recorded = record(workload, image, spec)
    assert recorded.exit_code == 0, recorded.output
    assert "recorded with eBPF" in recorded.output
    text = spec.read_text()
    assert f"port: {workload.port}" in text
    assert "  deny:" not in text  # nothing denied that was not seen to fail
    assert "- floor" in text
    bundle = tmp_path / "bundle"
    generated = harden("generate", spec, "-o", bundle)
    assert generated.exit_code == 0, generated.output
    proven = prove(workload, bundle, image, None, "--load", workload.load, "--restart",
                   "--audit-denials", "--check-timeout", "60s")  # fmt: skip
    assert proven.exit_code == 0, proven.output
    assert proven.output.startswith("PASS"), proven.output
    assert "logging what it would deny: the load and the check passed" in proven.output


def test_capabilities_come_from_the_kernels_checks(
    production_image: Callable[[Workload], str], tmp_path: Path
) -> None:
    """memcached starts as root and switches to its user: the recorder saw the kernel
    grant SETUID and SETGID (evidence, not a guess from the syscall name)."""
    spec = tmp_path / "mc.yaml"
    recorded = record(MEMCACHED, production_image(MEMCACHED), spec)
    assert recorded.exit_code == 0, recorded.output
    text = spec.read_text()
    assert "the kernel checked CAP_SETUID and granted it by memcached" in text
    assert "the kernel checked CAP_SETGID and granted it by memcached" in text


def test_a_silent_denial_is_found_in_the_kernel_log(
    production_image: Callable[[Workload], str], tmp_path: Path
) -> None:
    """Without the safety floor, memcached's `stats` loses getrusage silently: the check
    still passes, the kernel log names it, and prove fails."""
    image = production_image(MEMCACHED)
    spec = tmp_path / "mc.yaml"
    recorded = record(MEMCACHED, image, spec)
    assert recorded.exit_code == 0, recorded.output
    spec.write_text(spec.read_text().replace("  sets:\n    - floor", "  sets: []", 1))
    bundle = tmp_path / "bundle"
    assert harden("generate", spec, "-o", bundle).exit_code == 0
    proven = prove(MEMCACHED, bundle, image, None, "--load", MEMCACHED.load, "--audit-denials")
    assert proven.exit_code == 1, proven.output
    assert proven.output.startswith("FAIL (silent denials)")
    assert "denied syscall: getrusage (by " in proven.output


def test_postgres_is_recorded_with_its_per_run_names_as_globs(
    production_image: Callable[[Workload], str], tmp_path: Path
) -> None:
    spec = tmp_path / "pg.yaml"
    assert record(POSTGRES, production_image(POSTGRES), spec).exit_code == 0
    text = spec.read_text()
    assert "/dev/shm/PostgreSQL.*" in text
    assert "/dev/shm/PostgreSQL.1" not in text


def test_learn_proposes_what_a_complain_mode_bundle_logged(
    production_image: Callable[[Workload], str], docker: Any, tmp_path: Path
) -> None:
    """The same silent denial, learnt instead: memcached runs under a complain-mode bundle
    (unlisted syscalls logged, not denied) through the heavy load, and learn reads the
    kernel's records of its processes and writes them into the spec."""
    from harden.generate.reader import read_bundle
    from harden.runtime.container import Where, remove, run_client, wait_ready
    from harden.runtime.prove.attempt import BUNDLE, ProveTarget, run_options

    image = production_image(MEMCACHED)
    spec = tmp_path / "mc.yaml"
    recorded = record(MEMCACHED, image, spec)
    assert recorded.exit_code == 0, recorded.output
    spec.write_text(spec.read_text().replace("  sets:\n    - floor", "  sets: []", 1))
    bundle = tmp_path / "complain"
    generated = harden("generate", spec, "-o", bundle, "--complain")
    assert generated.exit_code == 0, generated.output
    assert "complain mode" in generated.output
    assert json.loads((bundle / "manifest.json").read_text())["seccomp"]["mode"] == "complain"
    options = run_options(ProveTarget(read_bundle(bundle), image, MEMCACHED.check), BUNDLE)
    name = f"{PREFIX}learn-{uuid.uuid4().hex[:8]}"
    box = docker.containers.run(image, list(MEMCACHED.command), name=name,
                                network_mode="none", detach=True, **options)  # fmt: skip
    try:
        assert wait_ready(box, {(MEMCACHED.port, "tcp")}, 30) is None
        load = run_client(docker, box, MEMCACHED.load, where=Where.CONTAINER, image=image,
                          prefix=PREFIX, timeout=300)  # fmt: skip
        assert load.ok, load.output
        learnt = harden("learn", bundle, "--container", box.name, "--write", spec)
    finally:
        remove(box)
    assert learnt.exit_code == 0, learnt.output
    assert "x86_64 getrusage: mc-worker x" in learnt.output
    text = spec.read_text()
    assert "- getrusage  # recorded: learnt from the kernel log: mc-worker x" in text
    assert "  - name: SETUID  # recorded: check with harden minimize-caps" in text  # comments kept
    assert harden("generate", spec, "-o", tmp_path / "again").exit_code == 0
