"""The CEL runtime (the ``common-expression-language`` package), loaded lean.

``import cel`` runs the package's ``__init__``, which imports its interactive command
line (typer, prompt_toolkit): ~350 ms here, more than a whole 100-container audit. The
compiled extension ``cel.cel`` holds everything harden uses (``compile``, ``Context``),
so it is loaded directly from the installed package; plain ``import cel`` is the fallback.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


@functools.cache
def runtime() -> ModuleType:
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    spec = importlib.util.find_spec("cel")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = Path(location) / f"cel{suffix}"
            if candidate.is_file():
                loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(candidate))
                ext_spec = importlib.util.spec_from_file_location(
                    "cel.cel", candidate, loader=loader
                )
                if ext_spec is None:
                    continue
                module = importlib.util.module_from_spec(ext_spec)
                loader.exec_module(module)
                sys.modules["cel.cel"] = module  # a later `import cel` reuses it
                return module
    import cel  # noqa: PLC0415 - fallback: the package's own import

    return cel


def compile_expression(text: str) -> Any:
    """A compiled CEL program; raises ValueError with the parser's message on bad syntax."""
    return runtime().compile(text)


def context(variables: dict[str, Any]) -> Any:
    return runtime().Context(variables)
