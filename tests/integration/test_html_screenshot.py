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


def _screenshot(page: Path, tmp_path: Path, height: int = 2000) -> bytes:
    chromium = _chromium()
    shot = page.with_suffix(".png")
    done = subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size=1400,{height}",
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
    width, got = struct.unpack(">II", data[16:24])
    assert (width, got) == (1400, height)
    assert len(data) > 50_000  # a blank or error page compresses to a few KB
    if os.environ.get("HARDEN_KEEP_SCREENSHOT"):
        shutil.copy(shot, Path(os.environ["HARDEN_KEEP_SCREENSHOT"]) / shot.name)
    return data


def test_the_html_report_renders_in_chromium(tmp_path: Path) -> None:
    _chromium()
    page = tmp_path / "gate.html"
    corpus = DATA / "gate" / "corpus"
    result = run_harden(
        "gate", str(corpus / "k8s"), str(corpus / "compose"), "--format", "html", "-o", str(page)
    )
    assert result.code == 1, result.output
    _screenshot(page, tmp_path)


def test_the_audit_html_has_a_verdict_and_the_engine_apart(tmp_path: Path) -> None:
    """An audit report (saved inspect output, and a daemon target from a fleet sample) with
    a policy: a red FAILED badge, the engine in its own section, rules with their why."""
    _chromium()
    page = tmp_path / "audit.html"
    inspect = DATA / "audit" / "inspect" / "docker-20.10.json"
    result = run_harden("audit", "--input", str(inspect), "--format", "html", "-o", str(page))
    assert result.code == 1, result.output
    html = page.read_text()
    assert '<div class="verdict fail">FAILED:' in html
    assert '<div class="why">' in html
    _screenshot(page, tmp_path, height=2400)
