"""Record -> generate -> prove, for real: busybox httpd, nginx and redis in the real engine.

Each workload is started from its image traced from its first instruction while its
client exercises it; the recorded spec is generated into a bundle; the bundle must
pass the workload's check under every layer (seccomp, capabilities, no-new-privileges,
read-only root, user) and allow far fewer syscalls than the engine's default profile.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from harden.cli import cli
from harden.kernel.syscalls import Arch
from harden.seccomp.build import allowed_names
from harden.seccomp.builtin import resolve
from tests.conftest import PREFIX
from tests.workloads import ALL, BUSYBOX_HTTPD, NGINX, Workload

pytestmark = [pytest.mark.docker, pytest.mark.root, pytest.mark.slow]


def harden(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def image_of(
    test_image: str, service_image: Callable[[tuple[str, ...]], str]
) -> Callable[[Workload], str]:
    def get(workload: Workload) -> str:
        return service_image(workload.packages) if workload.packages else test_image

    return get


def record(workload: Workload, image: str, out: Path) -> Result:
    user = ["--user", workload.user] if workload.user else []
    return harden("record", "-o", out, "--image", image, "--exercise", workload.exercise,
                  "--container-prefix", PREFIX, *user, "--", *workload.command)  # fmt: skip


def prove(workload: Workload, bundle: Path, image: str, check: str | None = None) -> Result:
    return harden("prove", bundle, "--image", image, "--check", check or workload.check,
                  "--check-timeout", "20s", "--container-prefix", PREFIX,
                  "--", *workload.command)  # fmt: skip


def engine_default_count() -> int:
    _, profile = resolve("docker-default")
    return len(allowed_names(profile, Arch.X86_64))


@pytest.mark.parametrize("workload", ALL, ids=lambda w: w.name)
def test_recorded_bundle_passes_its_check(
    workload: Workload, image_of: Callable[[Workload], str], tmp_path: Path
) -> None:
    image = image_of(workload)
    spec = tmp_path / f"{workload.name}.yaml"
    recorded = record(workload, image, spec)
    assert recorded.exit_code == 0, recorded.output
    text = spec.read_text()
    assert f"port: {workload.port}" in text
    assert "INCOMPLETE" not in text
    bundle = tmp_path / "bundle"
    generated = harden("generate", spec, "-o", bundle)
    assert generated.exit_code == 0, generated.output
    allowed = json.loads((bundle / "manifest.json").read_text())["seccomp"]["allowed_syscalls"]
    assert allowed["x86_64"] < 150
    assert allowed["x86_64"] < engine_default_count() * 0.5
    proven = prove(workload, bundle, image)
    assert proven.exit_code == 0, proven.output
    assert proven.output.startswith("PASS")


@pytest.mark.parametrize(
    ("workload", "syscall"),
    [(BUSYBOX_HTTPD, "bind"), (NGINX, "sendfile")],
    ids=["busybox-httpd-start-up", "nginx-request"],
)
def test_prove_names_a_removed_syscall(
    workload: Workload, syscall: str, image_of: Callable[[Workload], str], tmp_path: Path
) -> None:
    image = image_of(workload)
    spec = tmp_path / "web.yaml"
    assert record(workload, image, spec).exit_code == 0
    # Remove a syscall the server needs (to start, or to answer): caught and named.
    text = spec.read_text().replace("  deny:\n", f"  deny:\n    - {syscall}\n", 1)
    assert f"- {syscall}\n" in text
    spec.write_text(text)
    bundle = tmp_path / "bundle"
    assert harden("generate", spec, "-o", bundle).exit_code == 0
    proven = prove(workload, bundle, image)
    assert proven.exit_code == 1, proven.output
    assert proven.output.startswith("FAIL")
    assert f"denied syscall: {syscall} (by " in proven.output
    assert f"remove from syscalls.deny of the spec: {syscall}" in proven.output


def test_prove_says_when_the_check_itself_is_broken(
    image_of: Callable[[Workload], str], tmp_path: Path
) -> None:
    workload = BUSYBOX_HTTPD
    image = image_of(workload)
    spec = tmp_path / "web.yaml"
    assert record(workload, image, spec).exit_code == 0
    bundle = tmp_path / "bundle"
    assert harden("generate", spec, "-o", bundle).exit_code == 0
    broken = prove(workload, bundle, image, check="wget -qO- http://127.0.0.1:9/ >/dev/null")
    assert broken.exit_code == 2, broken.output
    assert "never succeeds, even without the bundle" in broken.output
    assert "no bundle (engine defaults): the check failed" in broken.output
