"""The HTML report as a person sees it: rendered by headless Chromium to a PNG.

Chromium (Debian's package, in the Makefile's TEST_PACKAGES) runs as root, so it needs
--no-sandbox; every network feature is off and the page's CSP forbids fetches anyway.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DATA, run_harden

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("HARDEN_REQUIRE_DOCKER") == "1":
            pytest.fail("chromium is needed (make test installs it)")
        pytest.skip("chromium is not installed")
    return found


def test_the_html_report_renders_in_chromium(tmp_path: Path) -> None:
    chromium = _chromium()
    page = tmp_path / "gate.html"
    corpus = DATA / "gate" / "corpus"
    result = run_harden(
        "gate", str(corpus / "k8s"), str(corpus / "compose"), "--format", "html", "-o", str(page)
    )
    assert result.code == 1, result.output
    shot = tmp_path / "gate.png"
    done = subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,2000",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
        },  # chromium writes there too
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 2000)
    assert len(data) > 50_000  # a blank or error page compresses to a few KB
    if os.environ.get("HARDEN_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["HARDEN_KEEP_SCREENSHOT"])
