"""Shared fixtures: golden files, root/engine requirements, the test image and probe.

Tests that need root or a Docker engine are marked; with HARDEN_REQUIRE_DOCKER=1
(set by `make test`, hence in CI) a missing engine fails them instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "profiles" / "workloads").glob("*.yaml"))
EVERY_FIELD = DATA / "specs" / "good" / "every-field.yaml"
PREFIX = "harden-test-"
CACHE_DIR = ROOT / ".cache" / "harden"
_OLD_CACHE_DIR = pytest.StashKey[str | None]()


def pytest_configure(config: pytest.Config) -> None:
    """harden's cache is the checkout's .cache/harden (gitignored) for the whole run,
    collection included, and for every CLI run the tests start: the suite never writes
    into the developer's ~/.cache, and the converted SELinux base policy (~5 s to build)
    is kept between runs."""
    config.stash[_OLD_CACHE_DIR] = os.environ.get("HARDEN_CACHE_DIR")
    os.environ["HARDEN_CACHE_DIR"] = str(CACHE_DIR)


def pytest_unconfigure(config: pytest.Config) -> None:
    old = config.stash.get(_OLD_CACHE_DIR, None)
    if old is None:
        os.environ.pop("HARDEN_CACHE_DIR", None)
    else:
        os.environ["HARDEN_CACHE_DIR"] = old


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens", action="store_true", help="rewrite golden files from the current output"
    )


GOLDEN = DATA / "golden"
Golden = Callable[[str, str | bytes], None]


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    """Compare output with ``tests/data/golden/<name>`` (or rewrite it with --update-goldens).

    Every golden file lives in that one tree, one file per case: ``name`` is relative to it
    (``<area>/...``) and may not leave it.
    """
    update = bool(request.config.getoption("--update-goldens"))

    def check(name: str, actual: str | bytes) -> None:
        path = (GOLDEN / name).resolve()
        assert path.is_relative_to(GOLDEN.resolve()), f"golden file {name} is outside {GOLDEN}"
        data = actual.encode() if isinstance(actual, str) else actual
        if update or not path.exists():
            if not update:
                pytest.fail(f"golden file {path} is missing; run pytest --update-goldens")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        assert data.decode(errors="replace") == path.read_bytes().decode(errors="replace"), (
            f"output differs from {path}; review and run pytest --update-goldens"
        )

    return check


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    require = os.environ.get("HARDEN_REQUIRE_DOCKER") == "1"
    is_root = os.geteuid() == 0
    engine = _engine_up() if any(i.get_closest_marker("docker") for i in items) else False
    for item in items:
        if item.get_closest_marker("root") and not is_root and not require:
            item.add_marker(pytest.mark.skip(reason="needs root"))
        if item.get_closest_marker("docker") and not engine and not require:
            item.add_marker(pytest.mark.skip(reason="needs a running Docker engine"))


def _engine_up() -> bool:
    try:
        from harden.system.engine import docker_client

        docker_client(timeout=5)
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def sysprobe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static binary that makes one raw syscall and prints the errno."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build the syscall probe (make test installs it)")
    out = tmp_path_factory.mktemp("probe") / "sysprobe"
    subprocess.run(
        [gcc, "-static", "-O2", "-o", str(out), str(DATA / "probe" / "sysprobe.c")], check=True
    )
    return out


@pytest.fixture(scope="session")
def docker() -> Any:
    from harden.system.engine import docker_client

    return docker_client()


@pytest.fixture(scope="session")
def sysprobe32(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The syscall probe as a real 32-bit x86 program (Debian's i386 glibc makes socket
    calls through socketcall): built with gcc -m32 (gcc-multilib)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build the syscall probe (make test installs it)")
    out = tmp_path_factory.mktemp("probe32") / "sysprobe32"
    done = subprocess.run(
        [gcc, "-m32", "-static", "-O2", "-o", str(out), str(DATA / "probe" / "sysprobe.c")],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"gcc -m32 failed (make test installs gcc-multilib): {done.stderr[-500:]}")
    return out


def _rootfs(base: Path, sysprobe: Path, sysprobe32: Path) -> Path:
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.fail("busybox-static is needed for the test image (make test installs it)")
    root = base / "rootfs"
    for sub in ("bin", "etc", "srv/www", "tmp", "data/in", "data/out", "proc", "sys", "dev"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    for applet in applets.stdout.split():
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    shutil.copy2(sysprobe, root / "bin" / "sysprobe")
    shutil.copy2(sysprobe32, root / "bin" / "sysprobe32")
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nwww:x:101:101:www:/srv/www:/bin/false\n"
        "batch:x:1000:1000:batch:/tmp:/bin/sh\n"
    )
    (root / "etc" / "group").write_text("root:x:0:\nwww:x:101:\nbatch:x:1000:\n")
    (root / "srv" / "www" / "index.html").write_text("hello from harden\n")
    (root / "data" / "in" / "numbers.txt").write_text("3\n1\n2\n")
    (root / "tmp").chmod(0o1777)
    (root / "data" / "out").chmod(0o777)
    return root


@pytest.fixture(scope="session")
def test_image(
    docker: Any, sysprobe: Path, sysprobe32: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A busybox image with the probes (64- and 32-bit), a web root and batch data."""
    base = tmp_path_factory.mktemp("image")
    root = _rootfs(base, sysprobe, sysprobe32)
    tar_path = base / "rootfs.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(root, arcname=".")
    repo = f"{PREFIX}{uuid.uuid4().hex[:10]}"
    name = f"{repo}:1"
    with tar_path.open("rb") as handle:
        docker.api.import_image_from_data(handle.read(), repository=repo, tag="1")
    yield name
    docker.images.remove(name, force=True)


@pytest.fixture
def container_name(docker: Any) -> Iterator[Callable[[], str]]:
    """Unique container names; every container created with one is removed afterwards."""
    names: list[str] = []

    def make() -> str:
        names.append(f"{PREFIX}{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield make
    for name in names:
        with contextlib.suppress(Exception):
            docker.containers.get(name).remove(force=True)


# --- AppArmor, SELinux, user namespaces (issue 3) ---------------------------------------

EXAMPLE_SPECS = {p.stem: p for p in sorted((ROOT / "profiles" / "workloads").glob("*.yaml"))}
EXAMPLE_SPECS["every-field"] = DATA / "specs" / "good" / "every-field.yaml"


@pytest.fixture(scope="session")
def selinux_base() -> Any:
    """Debian's refpolicy converted to CIL (a few seconds the first time, then cached)."""
    from harden.layers.selinux.base import load_base

    return load_base()


@pytest.fixture(scope="session")
def full_files(selinux_base: Any) -> Callable[[str], dict[str, bytes]]:
    """Every --all text file of an example spec, built by the pure builders: no checker
    runs, so there is no manifest.json and no compiled seccomp.*.bpf/.pfc."""
    from harden.generate.files import build_layers, bundle_files
    from harden.layers.registry import Host
    from harden.profile.loader import load_spec

    cache: dict[str, dict[str, bytes]] = {}

    def make(name: str) -> dict[str, bytes]:
        if name not in cache:
            spec = load_spec(EXAMPLE_SPECS[name]).spec
            built = build_layers(spec, Host(lambda: selinux_base), all_layers=True)
            cache[name] = bundle_files(built)
        return dict(cache[name])

    return make


class CliResult:
    """What `harden ARGS` did: exit code, stdout and stderr (through harden.cli.main, so
    errors are reported exactly as a user sees them)."""

    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr
        self.output = stdout + stderr


def run_harden(*args: str) -> CliResult:
    from click.testing import CliRunner

    from harden.cli import main

    code: int = 0
    with CliRunner().isolation() as streams:
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        stdout, stderr = streams[0].getvalue(), streams[1].getvalue()
    return CliResult(code, stdout.decode(), stderr.decode())


@pytest.fixture(scope="session")
def service_image(docker: Any) -> Iterator[Callable[..., str]]:
    """Images built from Debian packages with mmdebstrap (the tarball is cached between
    runs under HARDEN_IMAGE_CACHE), imported once per session and removed afterwards.
    ``setup`` is a shell command run once as root in the image and committed."""
    from tests.images import import_image, rootfs_tar, with_setup

    made: dict[tuple[tuple[str, ...], str], str] = {}

    def get(packages: tuple[str, ...], setup: str = "") -> str:
        if (packages, "") not in made:
            tar, _ = rootfs_tar(packages)
            repo = f"{PREFIX}{'-'.join(p.split('-')[0] for p in packages)}-{uuid.uuid4().hex[:8]}"
            made[(packages, "")] = import_image(docker, tar, repo)
        if setup and (packages, setup) not in made:
            base = made[(packages, "")]
            made[(packages, setup)] = with_setup(docker, base, setup, f"{base.split(':')[0]}-set")
        return made[(packages, setup)]

    yield get
    for name in reversed(list(made.values())):
        docker.images.remove(name, force=True)
