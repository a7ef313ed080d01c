"""What static inputs share: typed, located reads of YAML values, quantities, engine defaults.

A static source reads one YAML document (a Kubernetes object, a compose file) through
:class:`Reader`, which type-checks every value and knows its line. A value of the wrong
type raises :class:`BadField` (from :mod:`harden.audit.sources.docker.fields`), which makes
only the facts of that step *failed*, as for inspect objects.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harden.audit.sources.docker.fields import BadField
from harden.audit.state.model import (
    Gap,
    GapKind,
    Layer,
    LayerBuilder,
    SourceKind,
    TargetKind,
    TargetState,
)

if TYPE_CHECKING:
    from harden.system.yaml import Located, PathKey

# What runc, crun, containerd and CRI-O mask and make read-only unless told otherwise
# (the OCI runtime spec defaults moby and containerd both use).
DEFAULT_MASKED_PATHS = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
)
DEFAULT_READONLY_PATHS = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)
NO_KERNEL_STATE = "a file holds no kernel state (audit the running host for it)"

_MISSING: Any = object()
_TYPE_NAMES = {bool: "a boolean", int: "an integer", str: "a string", list: "a list", dict: "a map"}


@dataclass(frozen=True)
class Reader:
    """Typed reads of one located document, relative to a base path inside it."""

    doc: Located
    base: PathKey = ()

    def at(self, *path: str | int) -> Reader:
        return Reader(self.doc, (*self.base, *path))

    def line(self, *path: str | int) -> int | None:
        return self.doc.line_of((*self.base, *path))

    @functools.cached_property
    def node(self) -> Any:
        """The value at the base path (looked up once per reader)."""
        return _walk(self.doc.data, self.base)

    def raw(self, *path: str | int) -> Any:
        return _walk(self.node, path) if path else self.node

    def has(self, *path: str | int) -> bool:
        value = self.raw(*path)
        return value is not _MISSING and value is not None

    def get(self, path: tuple[str | int, ...], kind: type | tuple[type, ...], default: Any) -> Any:
        """The value at ``path`` checked against ``kind``; absent or null gives ``default``."""
        value = self.raw(*path)
        if value is _MISSING or value is None:
            return default
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            wanted = _TYPE_NAMES.get(kind, str(kind)) if isinstance(kind, type) else "a value"
            where = f"{self.doc.source}:{self.line(*path)}: {self.dotted(*path)}"
            raise BadField(where, f"must be {wanted}, not {_short(value)}")
        return value

    @functools.cached_property
    def prefix(self) -> str:
        return _dotted("", self.base)

    def dotted(self, *path: str | int) -> str:
        return _dotted(self.prefix, path)


def _dotted(out: str, path: tuple[str | int, ...]) -> str:
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _walk(node: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        if node is _MISSING:
            return _MISSING
        if type(node) is dict and isinstance(key, str):
            node = node.get(key, _MISSING)
        elif type(node) is list and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return _MISSING
    return node


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def unreadable_target(
    name: str, source: SourceKind, reason: str, file: str, line: int | None
) -> TargetState:
    """A target whose definition cannot be read at all: every fact failed, with the reason."""
    gaps = {f"{layer}.*": Gap(GapKind.FAILED, reason) for layer in Layer}
    return TargetState(TargetKind.CONTAINER, name, name, source, gaps=gaps, file=file, line=line)


_NO_KERNEL_STATE = Gap(GapKind.UNAVAILABLE, NO_KERNEL_STATE)  # one object, shared


def no_effective_layer() -> LayerBuilder:
    layer = LayerBuilder(Layer.EFFECTIVE)
    layer.gaps["effective.*"] = _NO_KERNEL_STATE
    return layer


Step = Callable[[LayerBuilder], None]


def run_steps(layer: LayerBuilder, steps: tuple[tuple[tuple[str, ...], Step], ...]) -> None:
    """Each step sets its facts; a BadField makes exactly those facts failed."""
    for paths, step in steps:
        try:
            step(layer)
        except BadField as exc:
            layer.fail_all(paths, f"{exc}")


_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e([0-9]+))?([a-zA-Z]*)$")
_SUFFIX = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": 0.001,
}
_COMPOSE_SUFFIX = {
    "b": 1,
    "k": 2**10,
    "kb": 2**10,
    "m": 2**20,
    "mb": 2**20,
    "g": 2**30,
    "gb": 2**30,
}


def quantity(value: Any, field: str) -> float:
    """A Kubernetes quantity (``64Mi``, ``500m``, ``1.5``, ``2e3``) as a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadField(field, f"is not a quantity: {value!r}")
    if isinstance(value, int | float):
        return _finite(value, field, value)
    match = _QUANTITY.match(value.strip())
    if not match or match[3] not in _SUFFIX or len(match[2] or "") > 3:
        raise BadField(field, f"is not a quantity: {value!r}")
    try:
        number = float(match[1]) * 10 ** int(match[2] or 0) * _SUFFIX[match[3]]
    except OverflowError:  # 1e400
        number = math.inf
    return _finite(number, field, value)


_LARGEST = float(2**63)  # no limit the kernel or the engine keeps is larger


def _finite(number: float, field: str, value: Any) -> float:
    """``number`` as a float, if it is a number a limit can be (.inf, .nan, 1e400 are not)."""
    try:
        result = float(number)
    except OverflowError:  # an int past any float
        result = math.inf
    if not math.isfinite(result) or abs(result) > _LARGEST:
        raise BadField(field, f"is not a finite quantity: {value!r}")
    return result


def compose_bytes(value: Any, field: str) -> int:
    """A compose byte value (``256m``, ``1gb``, ``1048576``) as bytes."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadField(field, f"is not a byte value: {value!r}")
    if isinstance(value, int):
        return int(_finite(value, field, value))
    match = re.match(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$", value)
    if not match or match[2].lower() not in {**_COMPOSE_SUFFIX, "": 1}:
        raise BadField(field, f"is not a byte value: {value!r}")
    return int(
        _finite(float(match[1]) * {**_COMPOSE_SUFFIX, "": 1}[match[2].lower()], field, value)
    )


def waiver_key(key: str) -> str | None:
    """The rule id named by an inline waiver key ``harden.dev/waive.CAP-001``, else None."""
    prefix = "harden.dev/waive."
    return key[len(prefix) :] if key.startswith(prefix) and len(key) > len(prefix) else None
