"""The output of ``harden verify``: one line per artefact, one per cross-layer conflict.

File names, details and evidence may come from a hand-edited bundle: they are shown
literally (:func:`shown`), on one line each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harden.layers.interface import Verdict
from harden.report.text import shown

if TYPE_CHECKING:
    from harden.verify.run import VerifyReport


@dataclass(frozen=True)
class VerifyOptions:
    quiet: bool = False  # only what is not ok, and no note


def render_verify(report: VerifyReport, options: VerifyOptions) -> str:
    lines = []
    for r in report.results:
        if options.quiet and r.verdict is Verdict.OK:
            continue
        took = f" ({r.seconds:.2f} s)" if r.seconds >= 0.01 else ""
        detail = shown(r.detail.replace("\n", " "))
        lines.append(f"{r.verdict.value:<7} {shown(r.artefact):<26} {r.checker:<22} {detail}{took}")
    for c in report.conflicts:
        lines.append(f"{'CONFLICT':<7} {c.check.id:<26} {shown(c.evidence)}")
    if report.modified and not options.quiet:
        edited = ", ".join(shown(m) for m in report.modified)
        lines.append(f"note: edited since generated (digest differs from manifest.json): {edited}")
    return "".join(f"{line}\n" for line in lines)


def render_verify_summary(report: VerifyReport) -> str:
    """The counts, one line."""
    failed = sum(r.verdict is not Verdict.OK for r in report.results)
    return (
        f"{len(report.results)} artefacts checked, {failed} not ok; "
        f"{len(report.conflicts)} cross-layer conflicts"
    )
