"""The layers plug in one way: every package under harden/layers is a layer of the same
shape (model, build, render, check) and is in the registry generate and verify use."""

from __future__ import annotations

from pathlib import Path

import harden.layers
from harden.layers.registry import LAYERS

LAYERS_DIR = Path(harden.layers.__file__).parent
SHAPE = {"model.py", "build.py", "render.py", "check.py"}


def test_every_layer_package_is_registered_and_has_the_shape() -> None:
    packages = {p.name for p in LAYERS_DIR.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(LAYERS)
    for name in packages:
        missing = SHAPE - {p.name for p in (LAYERS_DIR / name).iterdir()}
        assert not missing, f"layers/{name} lacks {sorted(missing)}"


def test_the_core_layers_are_what_generate_writes_without_all() -> None:
    assert [name for name, layer in LAYERS.items() if layer.core] == ["caps", "seccomp"]
