"""harden's one cache directory: where it is, when it is refused, and that the test
suite's runs of harden never write into the developer's home."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harden.audit.rules import catalog as catalog_module
from harden.audit.rules.catalog import load_catalog
from harden.resources import cache_dir, data_dir
from tests.conftest import ROOT


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HARDEN_CACHE_DIR", raising=False)
    return home


def test_the_cache_is_harden_cache_dir_else_xdg_else_home(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cache_dir() == home / ".cache" / "harden"
    assert (home / ".cache" / "harden").stat().st_mode & 0o777 == 0o700
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "harden"
    monkeypatch.setenv("HARDEN_CACHE_DIR", str(tmp_path / "own"))
    assert cache_dir() == tmp_path / "own"


def test_a_cache_others_can_write_is_refused(home: Path) -> None:
    folder = home / ".cache" / "harden"
    folder.mkdir(parents=True)
    folder.chmod(0o770)  # group-writable: the point of the test
    assert cache_dir() is None


@pytest.mark.root
def test_a_cache_of_another_user_is_refused(home: Path) -> None:
    folder = home / ".cache" / "harden"
    folder.mkdir(parents=True, mode=0o700)
    os.chown(folder, 65534, 65534)
    assert cache_dir() is None


def _harden(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harden", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_suite_runs_harden_without_writing_into_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    assert env["HARDEN_CACHE_DIR"]  # set by conftest for the whole run
    done = _harden({**env, "HOME": str(home)}, "rules", "show", "CAP-001")
    assert done.returncode == 0, done.stderr
    assert list(home.iterdir()) == []
    # the same run without the suite's setting does use the home: the check above can fail
    env.pop("HARDEN_CACHE_DIR")
    done = _harden({**env, "HOME": str(home)}, "rules", "show", "CAP-001")
    assert done.returncode == 0, done.stderr
    assert list((home / ".cache" / "harden").glob("audit-packs-*.json"))


@pytest.fixture
def shared_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HARDEN_CACHE_DIR", str(tmp_path / "cache"))
    catalog_module.forget()
    yield
    catalog_module.forget()


def test_a_shared_cache_never_names_another_checkouts_files(
    tmp_path: Path, shared_cache: None
) -> None:
    first, second = tmp_path / "one" / "audit", tmp_path / "two" / "audit"
    shutil.copytree(data_dir("audit"), first)
    shutil.copytree(data_dir("audit"), second)
    load_catalog(first)  # strict, then cached
    catalog_module.forget()
    sources = {rule.source for rule in load_catalog(second).rules()}
    assert sources
    assert all(source.startswith(str(second)) for source in sources)
