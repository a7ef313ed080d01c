"""The baseline: findings accepted as they are, keyed by stable fingerprints.

``--write-baseline FILE`` records every failing finding; ``--baseline FILE`` (or the
policy's ``baseline``) turns those into *waived* findings so that only new ones fail.
The file is JSON, sorted, without a clock: writing it twice gives the same bytes. A
baseline from another harden version (major.minor) is refused with a clear error, since
rule ids and fingerprints may change between versions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harden import __version__
from harden.errors import FileProblems, InputError, Problem
from harden.report.locate import FINGERPRINT_VERSION
from harden.system.reading import load_json

KIND = "harden-baseline"
MAX_BYTES = 64 << 20


@dataclass(frozen=True)
class Entry:
    fingerprint: str
    rule: str
    target: str
    file: str


def _release(version: str) -> str:
    return ".".join(version.split(".")[:2])


def render(entries: Iterable[Entry]) -> str:
    unique = {e.fingerprint: e for e in entries}
    document = {
        "kind": KIND,
        "format": FINGERPRINT_VERSION,
        "tool": {"name": "harden", "version": __version__},
        "findings": [
            {"fingerprint": e.fingerprint, "rule": e.rule, "target": e.target, "file": e.file}
            for e in sorted(
                unique.values(), key=lambda e: (e.file, e.target, e.rule, e.fingerprint)
            )
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def load(path: Path) -> dict[str, Entry]:
    source = str(path)
    data = load_json(path, what="baseline", max_bytes=MAX_BYTES)
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise InputError(
            f"{source}: not a harden baseline (kind {KIND!r} missing)",
            hint="write one with: harden gate PATHS --write-baseline FILE",
        )
    tool = data.get("tool")
    written = str(tool.get("version", "?")) if isinstance(tool, dict) else "?"
    if data.get("format") != FINGERPRINT_VERSION or _release(written) != _release(__version__):
        raise InputError(
            f"{source}: baseline written by harden {written} (format {data.get('format')!r}); "
            f"this is harden {__version__} (format {FINGERPRINT_VERSION}): rule ids and "
            "fingerprints may differ between versions",
            hint="review the findings and rewrite it: harden gate PATHS --write-baseline FILE",
        )
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise FileProblems(source, [Problem("must be a list", "findings")])
    out = {}
    for index, item in enumerate(findings):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("fingerprint", "rule", "target", "file")
        ):
            raise FileProblems(
                source, [Problem("needs fingerprint, rule, target and file", f"findings[{index}]")]
            )
        out[item["fingerprint"]] = Entry(
            item["fingerprint"], item["rule"], item["target"], item["file"]
        )
    return out
