"""Subordinate ID pools: ``/etc/subuid``-style files (``owner:start:count`` per line).

A pool is the set of host IDs harden may hand out to workloads. Reading is strict:
every malformed line, every range past the 32-bit ID space, every pair of entries that
overlap, and every range holding host root (ID 0) unless explicitly allowed, is a
located error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from harden.errors import FileProblems, Problem
from harden.layers.userns.model import MAX_ID, IdRange, Pool, PoolEntry
from harden.system.yaml import read_text

_LINE = re.compile(r"^([^:\s]+):(\d+):(\d+)$")


def parse_pool(
    text: str, source: str, *, owner: str | None = None, allow_host_root: bool = False
) -> Pool:
    """The pool in ``text``; only entries of ``owner`` when given."""
    problems: list[Problem] = []
    entries: list[PoolEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            problems.append(Problem(f"expected owner:start:count, got {line!r}", line=number))
            continue
        name, start, count = match.group(1), int(match.group(2)), int(match.group(3))
        if owner is not None and name != owner:
            continue
        entry = PoolEntry(name, IdRange(start, count), number)
        problems.extend(_entry_problems(entry, allow_host_root))
        entries.append(entry)
    problems.extend(_overlaps(entries))
    if not problems and not entries:
        which = f" for owner {owner!r}" if owner else ""
        problems.append(Problem(f"no subordinate ID ranges{which}"))
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        hint = "lines are owner:start:count, as in /etc/subuid"
        if not entries:
            hint += (
                "; a pool for the tenants is one such line, e.g. "
                "echo harden:1000000:10000000 > pool.subuid, then --from pool.subuid"
            )
        raise FileProblems(source, problems, hint=hint)
    return Pool(tuple(entries), source)


def _entry_problems(entry: PoolEntry, allow_host_root: bool) -> Iterable[Problem]:
    r = entry.range
    if r.count == 0:
        yield Problem("the range is empty (count 0)", entry.owner, entry.line)
    elif r.end - 1 > MAX_ID:
        yield Problem(f"range {r} goes past the last ID {MAX_ID}", entry.owner, entry.line)
    if r.start == 0 and r.count and not allow_host_root:
        yield Problem(
            f"range {r} holds host root (ID 0): a container's root mapped there is host root "
            "(allow it only explicitly: --allow-host-root)",
            entry.owner,
            entry.line,
        )


def _overlaps(entries: list[PoolEntry]) -> Iterable[Problem]:
    ordered = sorted(entries, key=lambda e: (e.range.start, e.line))
    reach: PoolEntry | None = None  # the entry reaching furthest so far
    for entry in ordered:
        if reach is not None and reach.range.overlaps(entry.range):
            yield Problem(
                f"range {entry.range} overlaps {reach.range} ({reach.owner}, line "
                f"{reach.line}); pools must not overlap",
                entry.owner,
                entry.line,
            )
        if reach is None or entry.range.end > reach.range.end:
            reach = entry


def load_pool(path: Path, *, owner: str | None = None, allow_host_root: bool = False) -> Pool:
    text = read_text(path, what="subordinate ID pool")
    return parse_pool(text, str(path), owner=owner, allow_host_root=allow_host_root)
