"""Programs are started only through harden/system/tools.py, which names the package a
missing program comes from and never lets a timeout or a missing binary escape as a
traceback."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from harden.errors import ExitCode, ToolMissing
from harden.system import tools

PACKAGE = Path(__file__).resolve().parents[2] / "harden"
TOOLS = PACKAGE / "system" / "tools.py"
_STARTERS = {"system", "popen", "posix_spawn", "posix_spawnp"}  # os.* that start a program


def _starts_programs(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            os_call = node.value.id == "os" and (
                node.attr in _STARTERS or node.attr.startswith("spawn")
            )
            names = [f"os.{node.attr}"] if os_call else []
        else:
            continue
        found += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {n}" for n in names
                  if n.split(".")[0] == "subprocess" or n.startswith("os.")]  # fmt: skip
    return found


def test_only_tools_py_starts_programs() -> None:
    offenders = [
        line
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != TOOLS
        for line in _starts_programs(path)
    ]
    assert offenders == [], "start programs through harden.system.tools"
    assert _starts_programs(TOOLS)  # the walk does see subprocess where it is


def test_a_missing_program_names_its_package() -> None:
    with pytest.raises(ToolMissing) as missing:
        tools.run(["/nonexistent/strace", "-V"], timeout=5)
    assert missing.value.exit_code is ExitCode.ENVIRONMENT
    assert "strace is not installed" in missing.value.diagnostics()
    assert "apt-get install strace" in missing.value.diagnostics()


def test_a_timeout_is_a_result_not_an_exception() -> None:
    script = "import sys, time; print('started', flush=True); time.sleep(30)"
    done = tools.run([sys.executable, "-c", script], timeout=0.5)
    assert done.returncode is None
    assert not done.ok
    assert "did not finish" in done.problem()
    finished = tools.run([sys.executable, "-c", "import sys; sys.exit(3)"], timeout=30)
    assert finished.returncode == 3
    assert finished.problem() == "exit status 3"
