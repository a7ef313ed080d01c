"""One fix step (a rule's data, or a bundle's field) applied to a round-trip YAML map.

Steps edit the map in place, keeping the style of what is there (a flow list stays a
flow list), and return each change as a :class:`Change` at the path it touched: the
patch writers rebuild the same edits from them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harden.audit.rules.model import FixOp, FixStep
from harden.system.yaml import PathKey


@dataclass(frozen=True)
class Change:
    """A field harden fix set (``value``) or removed (``deleted``)."""

    document: int  # index of the document in the file
    path: PathKey  # from the document's root
    value: Any = None  # plain data
    deleted: bool = False
    shrunk: bool = False  # a list that lost entries (an override must replace it whole)


class NotApplicable(Exception):
    """The file's value has a shape the step cannot edit (a string where a list is due)."""


def plain(value: Any) -> Any:
    """``value`` as plain dicts, lists and scalars (for patches and comparisons)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    return value


def styled(value: Any, flow: bool = False) -> Any:
    """``value`` as harden writes it into a file: a string another YAML reader could take
    for something else (``1:0`` is 60 to YAML 1.1, ``a,b`` splits in a flow list) is
    double-quoted; maps and lists are copied."""
    if isinstance(value, dict):
        return {k: styled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [styled(v, flow) for v in value]
    if isinstance(value, str) and _ambiguous(value, flow):
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString  # noqa: PLC0415

        return DoubleQuotedScalarString(value)
    return copy.deepcopy(value)


def _ambiguous(text: str, flow: bool) -> bool:
    import yaml  # noqa: PLC0415 - PyYAML: what the gate (and YAML 1.1 readers) would read

    if flow and any(c in text for c in ",:[]{}#"):
        return True
    try:
        return bool(yaml.safe_load(text) != text)
    except yaml.YAMLError:
        return True


def _is_flow(node: Any) -> bool:
    fa = getattr(node, "fa", None)
    return bool(fa is not None and fa.flow_style())


def _capability(name: object) -> str:
    return str(name).upper().removeprefix("CAP_")


def _parent(node: dict[Any, Any], path: PathKey, create: bool) -> dict[Any, Any] | None:
    """The map holding the last key of ``path`` (created on the way when asked)."""
    from ruamel.yaml.comments import CommentedMap  # noqa: PLC0415

    current = node
    for key in path[:-1]:
        child = current.get(key)
        if child is None:
            if not create:
                return None
            child = current[key] = CommentedMap()
        if not isinstance(child, dict):
            raise NotApplicable(f"{'.'.join(map(str, path[: path.index(key) + 1]))} is not a map")
        current = child
    return current


def set_value(
    node: dict[Any, Any], path: PathKey, value: Any, at: tuple[int, PathKey]
) -> list[Change]:
    parent = _parent(node, path, create=True)
    assert parent is not None
    key = path[-1]
    if key in parent and plain(parent[key]) == plain(value):
        return []
    parent[key] = styled(value, _is_flow(parent))
    return [Change(at[0], (*at[1], *path), plain(value))]


def unset(node: dict[Any, Any], path: PathKey, at: tuple[int, PathKey]) -> list[Change]:
    parent = _parent(node, path, create=False)
    if parent is None or path[-1] not in parent:
        return []
    del parent[path[-1]]
    return [Change(at[0], (*at[1], *path), deleted=True)]


def _list(node: dict[Any, Any], path: PathKey, create: bool) -> tuple[dict[Any, Any], Any]:
    from ruamel.yaml.comments import CommentedSeq  # noqa: PLC0415

    parent = _parent(node, path, create=create)
    if parent is None:
        return {}, None
    value = parent.get(path[-1])
    if value is None and create:
        value = parent[path[-1]] = CommentedSeq()
    if value is not None and not isinstance(value, list):
        raise NotApplicable(f"{'.'.join(map(str, path))} is not a list")
    return parent, value


def _filter(
    node: dict[Any, Any], path: PathKey, drop: Any, at: tuple[int, PathKey]
) -> list[Change]:
    parent, entries = _list(node, path, create=False)
    if not entries:
        return []
    kept = [e for e in entries if not drop(e)]
    if len(kept) == len(entries):
        return []
    where = (*at[1], *path)
    if not kept:
        del parent[path[-1]]
        return [Change(at[0], where, deleted=True)]
    for index in reversed(range(len(entries))):
        if drop(entries[index]):
            del entries[index]
    return [Change(at[0], where, plain(entries), shrunk=True)]


def apply_step(step: FixStep, node: dict[Any, Any], at: tuple[int, PathKey]) -> list[Change]:
    """Apply ``step`` to ``node`` (the container or service); ``at`` is (document, path of
    ``node``). Raises NotApplicable when the file's value cannot be edited this way."""
    norm = _capability if step.capabilities else str
    items = {norm(i) for i in step.items}
    if step.op is FixOp.SET:
        return set_value(node, step.path, step.value, at)
    if step.op is FixOp.UNSET:
        return unset(node, step.path, at)
    if step.op is FixOp.ADD:
        return add_items(node, step.path, step.items, at, norm)
    if step.op is FixOp.REMOVE:
        pattern = re.compile(step.matching) if step.matching else None

        def drop(entry: Any) -> bool:
            return norm(entry) in items or bool(pattern and pattern.fullmatch(str(entry)))

        return _filter(node, step.path, drop, at)
    if step.op is FixOp.KEEP:
        return _filter(node, step.path, lambda e: norm(e) not in items, at)
    raise AssertionError(step.op)  # pragma: no cover - FixOp is closed


def add_items(
    node: dict[Any, Any],
    path: PathKey,
    new: Iterable[Any],
    at: tuple[int, PathKey],
    norm: Any = str,
) -> list[Change]:
    _parent_map, entries = _list(node, path, create=True)
    have = {norm(e) for e in entries}
    missing = [i for i in new if norm(i) not in have]
    if not missing:
        return []
    entries.extend(styled(i, _is_flow(entries)) for i in missing)
    return [Change(at[0], (*at[1], *path), plain(entries))]
