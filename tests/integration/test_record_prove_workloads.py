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
from harden.kernel.capabilities import DOCKER_DEFAULT
from harden.kernel.syscalls import Arch
from harden.layers.seccomp.build import allowed_names
from harden.layers.seccomp.builtin import resolve
from tests.conftest import PREFIX
from tests.workloads import ALL, BUSYBOX_HTTPD, NGINX, Workload

pytestmark = [pytest.mark.docker, pytest.mark.root, pytest.mark.slow]


def harden(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="session")
def image_of(test_image: str, service_image: Callable[..., str]) -> Callable[[Workload], str]:
    def get(workload: Workload) -> str:
        if not workload.packages:
            return test_image
        return service_image(workload.packages, workload.setup)

    return get


@pytest.fixture(scope="session")
def recorded(
    image_of: Callable[[Workload], str], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Workload, Path], Path]:
    """A copy of the workload's recorded spec (recorded once per session)."""
    done: dict[str, str] = {}

    def get(workload: Workload, folder: Path) -> Path:
        if workload.name not in done:
            out = tmp_path_factory.mktemp("recorded") / f"{workload.name}.yaml"
            result = record(workload, image_of(workload), out)
            assert result.exit_code == 0, result.output
            done[workload.name] = out.read_text()
        copy = folder / f"{workload.name}.yaml"
        copy.write_text(done[workload.name])
        return copy

    return get


def record(workload: Workload, image: str, out: Path, *extra: str) -> Result:
    user = ["--user", workload.user] if workload.user else []
    ready = ["--ready", workload.ready] if workload.ready else []
    return harden("record", "-o", out, "--image", image, "--exercise", workload.exercise,
                  "--container-prefix", PREFIX, *user, *ready, *extra,
                  "--", *workload.command)  # fmt: skip


def prove(workload: Workload, bundle: Path, image: str, check: str | None = None,
          *extra: str) -> Result:  # fmt: skip
    ready = ["--ready", workload.ready] if workload.ready else []
    return harden("prove", bundle, "--image", image, "--check", check or workload.check,
                  "--check-timeout", "20s", "--container-prefix", PREFIX, *ready, *extra,
                  "--", *workload.command)  # fmt: skip


def engine_default_count() -> int:
    _, profile = resolve("docker-default")
    return len(allowed_names(profile, Arch.X86_64, DOCKER_DEFAULT))


@pytest.mark.parametrize("workload", ALL, ids=lambda w: w.name)
def test_recorded_bundle_passes_its_check(
    workload: Workload,
    image_of: Callable[[Workload], str],
    recorded: Callable[[Workload, Path], Path],
    tmp_path: Path,
) -> None:
    image = image_of(workload)
    spec = recorded(workload, tmp_path)
    text = spec.read_text()
    assert f"port: {workload.port}" in text
    assert "INCOMPLETE" not in text
    bundle = tmp_path / "bundle"
    generated = harden("generate", spec, "-o", bundle)
    assert generated.exit_code == 0, generated.output
    allowed = json.loads((bundle / "manifest.json").read_text())["seccomp"]["allowed_syscalls"]
    # implied sets kept whole and the safety floor (nothing denied unseen) cost tightness,
    # yet the profile stays far below the engine's default
    assert allowed["x86_64"] < 200
    assert allowed["x86_64"] < engine_default_count() * 0.7
    proven = prove(workload, bundle, image)
    assert proven.exit_code == 0, proven.output
    assert proven.output.startswith("PASS")


@pytest.mark.parametrize(
    ("workload", "syscall"),
    [(BUSYBOX_HTTPD, "bind"), (NGINX, "sendfile")],
    ids=["busybox-httpd-start-up", "nginx-request"],
)
def test_prove_names_a_removed_syscall(
    workload: Workload,
    syscall: str,
    image_of: Callable[[Workload], str],
    recorded: Callable[[Workload, Path], Path],
    tmp_path: Path,
) -> None:
    image = image_of(workload)
    spec = recorded(workload, tmp_path)
    # Remove a syscall the server needs (to start, or to answer): caught and named.
    text = spec.read_text().replace("\nsyscalls:\n", f"\nsyscalls:\n  deny:\n    - {syscall}\n", 1)
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
    image_of: Callable[[Workload], str],
    recorded: Callable[[Workload, Path], Path],
    tmp_path: Path,
) -> None:
    workload = BUSYBOX_HTTPD
    image = image_of(workload)
    spec = recorded(workload, tmp_path)
    bundle = tmp_path / "bundle"
    assert harden("generate", spec, "-o", bundle).exit_code == 0
    broken = prove(workload, bundle, image, check="wget -qO- http://127.0.0.1:9/ >/dev/null")
    assert broken.exit_code == 2, broken.output
    assert "never succeeds, even without the bundle" in broken.output
    assert "no bundle (engine defaults): the check failed" in broken.output


def minimize(workload: Workload, bundle: Path, image: str, *extra: str) -> Result:
    return harden("minimize-caps", bundle, "--image", image, "--check", workload.check,
                  "--check-timeout", "8s", "--container-prefix", PREFIX, *extra,
                  "--", *workload.command)  # fmt: skip


def test_minimize_caps_keeps_only_what_nginx_needs_and_proves_it(
    image_of: Callable[[Workload], str],
    recorded: Callable[[Workload, Path], Path],
    tmp_path: Path,
) -> None:
    image = image_of(NGINX)
    spec = recorded(NGINX, tmp_path)
    bundle = tmp_path / "bundle"
    assert harden("generate", spec, "-o", bundle).exit_code == 0
    minimal = tmp_path / "minimal.yaml"
    result = minimize(NGINX, bundle, image, "--write-spec", str(minimal), "--spec", str(spec))
    assert result.exit_code == 0, result.output
    text = minimal.read_text()
    assert "runtime: runc  # runtime base:" in text  # the recorded spec's origins are kept
    assert "# recorded: harden minimize-caps: proven: without it" in text
    keep = [line for line in result.output.splitlines() if line.startswith("  KEEP ")]
    assert keep, result.output  # nginx starts as root and switches its workers to www-data
    for line in keep:
        assert any(w in line for w in ("failed", "exited", "timed out")), line
    again = tmp_path / "again"
    assert harden("generate", minimal, "-o", again).exit_code == 0
    kept = json.loads((again / "manifest.json").read_text())["capabilities"]
    assert len(kept) == len(keep)
    assert prove(NGINX, again, image).exit_code == 0


def test_minimize_caps_from_the_engine_default_for_a_non_root_server(
    image_of: Callable[[Workload], str],
    recorded: Callable[[Workload, Path], Path],
    tmp_path: Path,
) -> None:
    image = image_of(BUSYBOX_HTTPD)
    bundle = tmp_path / "bundle"
    assert harden("generate", recorded(BUSYBOX_HTTPD, tmp_path), "-o", bundle).exit_code == 0
    result = minimize(BUSYBOX_HTTPD, bundle, image, "--start", "engine-default")
    assert result.exit_code == 0, result.output
    assert "proven minimal set: none" in result.output
    assert result.output.count("  drop ") == 14


def test_prove_can_run_the_check_on_the_host_in_the_workload_network_namespace(
    image_of: Callable[[Workload], str],
    recorded: Callable[[Workload, Path], Path],
    tmp_path: Path,
) -> None:
    import shutil

    busybox = shutil.which("busybox")
    assert busybox is not None
    image = image_of(BUSYBOX_HTTPD)
    bundle = tmp_path / "bundle"
    assert harden("generate", recorded(BUSYBOX_HTTPD, tmp_path), "-o", bundle).exit_code == 0
    check = f"{busybox} wget -qO- http://127.0.0.1:8080/ | grep -q 'hello from harden'"
    result = harden("prove", bundle, "--image", image, "--check", check, "--check-in", "host",
                    "--container-prefix", PREFIX, "--", *BUSYBOX_HTTPD.command)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(host)" in result.output
