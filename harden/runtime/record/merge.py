"""Merging several annotated specs (replicas, test phases, architectures) into one.

The union of needs: every list item of every input, booleans that grant something
OR-ed, ``read_only_rootfs``/``no_new_privileges`` kept only if all inputs keep them,
resource limits at their largest. Single values (name, user, runtime) come from the
first input, with a warning when another input differs. Every item keeps its origin
note, tagged with the file it came from. Pure: no I/O.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from harden.kernel import syscalls as sc
from harden.runtime.record.draft import (
    LISTS,
    SCALARS,
    Draft,
    Note,
    Origin,
    Path_,
    get,
    item_key,
)

_FIRST_WINS = ("name", "description", "user", "runtime", "user_namespace")
_OR = ("ipv6", "unix", "netlink", "raw_sockets")
_AND = ("read_only_rootfs", "no_new_privileges")


def _tagged(note: Note, label: str) -> Note:
    detail = f"{note.detail} [{label}]" if note.detail else f"[{label}]"
    return Note(note.origins, detail)


def _glob_re(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", pattern)
    body = "".join(".*" if p == "**" else "[^/]*" if p == "*" else re.escape(p) for p in parts)
    return re.compile(f"^{body}$")


def _drop_covered(items: list[Any]) -> list[Any]:
    """Paths matched by a glob in the same list are redundant."""
    globs = [_glob_re(i) for i in items if isinstance(i, str) and "*" in i]
    return [
        i for i in items if not isinstance(i, str) or "*" in i or not any(g.match(i) for g in globs)
    ]


class _Merger:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.notes: dict[Path_, Note] = {}
        self.warnings: list[str] = []
        self.arches: list[str] = []
        self.inputs = 0
        self.denials: dict[str, int] = {}  # name -> how many inputs deny it
        self.user_denials: set[str] = set()
        self.scalar_notes: list[tuple[str, Draft]] = []

    def add(self, label: str, draft: Draft) -> None:
        data = draft.data
        self.inputs += 1
        self.scalar_notes.append((label, draft))
        for name in (data.get("syscalls") or {}).get("deny") or []:
            self.denials[name] = self.denials.get(name, 0) + 1
            note = draft.notes.get(("syscalls", "deny", name))
            if note is None or Origin.USER in note.origins:
                self.user_denials.add(name)
        for path, note in draft.notes.items():
            if path in SCALARS:
                continue  # kept only from inputs that agree with the merged value (finish)
            tagged = _tagged(note, label)
            self.notes[path] = self.notes[path].merge(tagged) if path in self.notes else tagged
        for key in _FIRST_WINS:
            self._first(label, key, data)
        for arch in data.get("architectures") or [a.value for a in sc.NATIVE_ARCHES]:
            if arch not in self.arches:
                self.arches.append(arch)
        self._flags(data)
        self._resources(data)
        for path in (*LISTS, *_arch_paths(data)):
            for item in get(data, path) or []:
                self._list_item(path, item)

    def _first(self, label: str, key: str, data: dict[str, Any]) -> None:
        if key not in data:
            return
        if key not in self.data:
            self.data[key] = copy.deepcopy(data[key])
        elif self.data[key] != data[key] and key != "description":
            self.warnings.append(
                f"{key}: kept {self.data[key]!r} from the first file; {label} has {data[key]!r}"
            )

    def _flags(self, data: dict[str, Any]) -> None:
        net = data.get("network") or {}
        for key in _OR:
            if net.get(key):
                self.data.setdefault("network", {})[key] = True
            elif key in net:
                self.data.setdefault("network", {}).setdefault(key, False)
        for key in _AND:
            value = data.get(key, True)
            self.data[key] = bool(self.data.get(key, True) and value)

    def _resources(self, data: dict[str, Any]) -> None:
        for key, value in (data.get("resources") or {}).items():
            res = self.data.setdefault("resources", {})
            if value is not None and (res.get(key) is None or _bigger(value, res[key])):
                res[key] = value

    def _list_item(self, path: Path_, item: Any) -> None:
        parent = self.data
        for key in path[:-1]:
            parent = parent.setdefault(key, {})
        items: list[Any] = parent.setdefault(path[-1], [])
        key = item_key(path, item)
        for i, existing in enumerate(items):
            if item_key(path, existing) == key:
                if path == ("devices",):
                    access = sorted(
                        set(existing.get("access", "rw")) | set(item.get("access", "rw"))
                    )
                    items[i] = {**existing, "access": "".join(a for a in "rwm" if a in access)}
                return
        items.append(copy.deepcopy(item))

    def finish(self, labels: Sequence[str]) -> Draft:
        self.data["architectures"] = self.arches
        self._place_syscalls()
        self._resolve_denials()
        files = self.data.get("files") or {}
        for key in ("read", "write", "exec", "tmpfs"):
            if key in files:
                files[key] = sorted(_drop_covered(files[key]))
        for label, source in self.scalar_notes:
            for path in SCALARS:
                note = source.notes.get(path)
                if note is not None and get(source.data, path) == get(self.data, path):
                    tagged = _tagged(note, label)
                    self.notes[path] = (
                        self.notes[path].merge(tagged) if path in self.notes else tagged
                    )
        draft = Draft(self.data, self.notes)
        draft.header += [f"Merged by harden spec merge from {', '.join(labels)}.", *self.warnings]
        draft.header += ["Each item says where it came from: recorded, runtime base or user;",
                         "[file] names the input that had it.", ""]  # fmt: skip
        return draft

    def _place_syscalls(self) -> None:
        """A name in ``allow`` must exist on every architecture; others move to arch_specific."""
        syscalls = self.data.get("syscalls") or {}
        arches = [sc.Arch(a) for a in self.arches]
        keep = []
        for name in syscalls.get("allow", []):
            if all(name in sc.names(a) for a in arches):
                keep.append(name)
                continue
            for arch in arches:
                if name in sc.names(arch):
                    specific = syscalls.setdefault("arch_specific", {}).setdefault(arch.value, [])
                    if name not in specific:
                        specific.append(name)
                    note = self.notes.get(("syscalls", "allow", name))
                    if note is not None:
                        self.notes[("syscalls", "arch_specific", arch.value, name)] = note
        if "allow" in syscalls:
            syscalls["allow"] = sorted(keep)

    def _resolve_denials(self) -> None:
        """A hand-written denial always holds; a recorded one ("not seen") only if every
        input denies it (another recording may have made the call)."""
        syscalls = self.data.get("syscalls") or {}
        if "deny" in syscalls:
            syscalls["deny"] = [
                n for n in syscalls["deny"]
                if n in self.user_denials or self.denials.get(n, 0) == self.inputs
            ]  # fmt: skip
        denied = set(syscalls.get("deny", []))
        clash = sorted(denied & set(syscalls.get("allow", [])))
        if clash:
            syscalls["allow"] = [n for n in syscalls["allow"] if n not in denied]
            self.warnings.append(
                f"kept the denial of {', '.join(clash)}: one input denies what another allows"
            )


def _arch_paths(data: dict[str, Any]) -> list[Path_]:
    specific = (data.get("syscalls") or {}).get("arch_specific") or {}
    return [("syscalls", "arch_specific", a) for a in sorted(specific)]


def _bigger(a: Any, b: Any) -> bool:
    try:
        return float(a) > float(b)
    except (TypeError, ValueError):
        return False


def merge_drafts(inputs: Sequence[tuple[str, Draft]]) -> tuple[Draft, list[str]]:
    """One draft holding everything the inputs need, and warnings about conflicts."""
    merger = _Merger()
    for label, draft in inputs:
        merger.add(label, draft)
    return merger.finish([label for label, _ in inputs]), merger.warnings
