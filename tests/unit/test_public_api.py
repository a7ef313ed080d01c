"""The public API: every name in harden.__all__ resolves to what the library defines, and
importing harden loads none of it until a name is used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import harden


@pytest.mark.parametrize("name", sorted(harden.__all__))
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(harden, name)
    assert value is not None
    if name != "__version__":
        assert getattr(value, "__module__", "").startswith("harden.")


def test_all_lists_exactly_the_lazy_names() -> None:
    assert set(harden.__all__) - {"__version__"} == set(harden._API)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'gates'"):
        harden.gates  # noqa: B018


def test_import_harden_loads_no_pipeline() -> None:
    code = "import sys, harden; print(sorted(m for m in sys.modules if m.startswith('harden')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['harden']"
