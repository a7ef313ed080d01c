"""Writing a :class:`~harden.runtime.record.draft.Draft` as a workload spec YAML file.

Block lists with one item per line (so each item carries its origin comment), flow
style for small mappings. The text is loaded back with the strict spec loader before
anyone sees it: a draft that is not a valid spec is a bug, never an output.
"""

from __future__ import annotations

from typing import Any

import yaml

from harden.errors import CheckFailed, HardenError
from harden.profile.loader import parse_spec
from harden.profile.spec import Files, Network, Syscalls
from harden.runtime.record.draft import KEYS, Draft, Path_, clean, item_key

_INDENT = "  "
_ORDER: dict[Path_, list[str]] = {
    ("syscalls",): list(Syscalls.model_fields),
    ("files",): list(Files.model_fields),
    ("network",): list(Network.model_fields),
}


def scalar(value: Any) -> str:
    """One YAML value on one line (quoted when needed, flow style for containers)."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 20)
    return text.removesuffix("\n").removesuffix("\n...").strip()


class _Writer:
    def __init__(self, draft: Draft) -> None:
        self.draft = draft
        self.out: list[str] = [f"# {clean(h)}" if h else "#" for h in draft.header]

    def comments(self, path: Path_, depth: int) -> None:
        for text in self.draft.comments.get(path, []):
            self.out.append(f"{_INDENT * depth}# {text}")

    def line(self, depth: int, text: str, path: Path_) -> None:
        note = self.draft.notes.get(path)
        suffix = f"  # {note.render()}" if note else ""
        self.out.append(f"{_INDENT * depth}{text}{suffix}")

    def value(self, path: Path_, value: Any, depth: int) -> None:
        key = path[-1]
        self.comments(path, depth)
        if isinstance(value, list) and path in set(self.draft.list_paths()):
            if not value:
                return
            self.out.append(f"{_INDENT * depth}{key}:")
            for item in value:
                self.item(path, item, depth + 1)
        elif isinstance(value, dict) and _nested(path):
            if not value:
                return
            self.out.append(f"{_INDENT * depth}{key}:")
            order = _ORDER.get(path, [])
            for sub in sorted(value, key=lambda k: order.index(k) if k in order else len(order)):
                self.value((*path, sub), value[sub], depth + 1)
        else:
            self.line(depth, f"{key}: {scalar(value)}", path)

    def item(self, path: Path_, item: Any, depth: int) -> None:
        note_path = (*path, item_key(path, item))
        if path == ("capabilities",):
            self.line(depth, f"- name: {scalar(item['name'])}", note_path)
            self.out.append(f"{_INDENT * (depth + 1)}reason: {scalar(item['reason'])}")
            return
        self.line(depth, f"- {scalar(item)}", note_path)


def _nested(path: Path_) -> bool:
    """Mappings written as blocks (their keys carry notes); others are one flow line."""
    return path in (("syscalls",), ("files",), ("network",), ("syscalls", "arch_specific"))


def render(draft: Draft) -> str:
    """The draft as YAML text, checked by the strict spec loader."""
    writer = _Writer(draft)
    for key in KEYS:
        if key in draft.data:
            writer.value((key,), draft.data[key], 0)
        else:
            writer.comments((key,), 0)
    for extra in sorted(set(draft.data) - set(KEYS)):
        writer.value((extra,), draft.data[extra], 0)
    text = "\n".join(writer.out) + "\n"
    try:
        parse_spec(text, "<recorded spec>")
    except HardenError as exc:
        raise CheckFailed(
            f"harden produced a spec it cannot load: {exc.diagnostics()}",
            hint="this is a bug in harden; please report it with the recording",
        ) from None
    return text
