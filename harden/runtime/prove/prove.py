"""Proving a bundle: the workload runs under it in the real engine and its check passes.

On failure the diagnosis re-runs it with one layer relaxed at a time and names what
the bundle lacks. :func:`minimize_caps` drops each capability in turn and keeps only
those whose removal makes the check fail, with that failure as the proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harden.errors import CheckFailed
from harden.progress import Progress
from harden.runtime.prove.attempt import (
    BUNDLE,
    Attempt,
    AttemptLog,
    ProveTarget,
    attempt,
    with_changes,
)
from harden.runtime.prove.diagnose import (
    ENGINE_DEFAULT_CAPS,
    Diagnosis,
    diagnose,
    silent_denials,
)


@dataclass(frozen=True)
class Proof:
    target: ProveTarget
    passed: bool
    attempts: tuple[Attempt, ...]
    diagnosis: Diagnosis | None
    silent: Diagnosis | None = None  # denials the check did not notice (--audit-denials)

    @property
    def quiet(self) -> bool:
        """No call was denied behind the check's back (or it was not looked for)."""
        return self.silent is None or not (self.silent.found_something or self.silent.notes)


def prove(
    client: Any,
    target: ProveTarget,
    progress: Progress,
    *,
    explain: bool = True,
    audit_denials: bool = False,
) -> Proof:
    """Run the workload under the whole bundle and its check; diagnose a failure. With
    ``audit_denials``, a pass is followed by a run that logs what the bundle would deny."""
    log = AttemptLog()
    first = log.add(attempt(client, target, BUNDLE, progress))
    if first.passed:
        silent = silent_denials(client, target, progress, log) if audit_denials else None
        return Proof(target, True, tuple(log.attempts), None, silent)
    diag = diagnose(client, target, progress, log) if explain else None
    return Proof(target, False, tuple(log.attempts), diag)


@dataclass(frozen=True)
class CapVerdict:
    capability: str
    kept: bool
    evidence: str  # what happened without it


@dataclass(frozen=True)
class CapProof:
    target: ProveTarget
    start: tuple[str, ...]
    kept: tuple[str, ...]
    verdicts: tuple[CapVerdict, ...]
    attempts: tuple[Attempt, ...]


def minimize_caps(
    client: Any, target: ProveTarget, progress: Progress, *, start: tuple[str, ...] | None = None
) -> CapProof:
    """Drop each capability in turn; keep it only if the check fails without it."""
    caps = tuple(target.bundle.caps.keep) if start is None else start
    log = AttemptLog()
    baseline = log.add(attempt(client, target, with_changes(
        BUNDLE, label=f"the bundle with {_caps(caps)}", capabilities=caps), progress))  # fmt: skip
    if not baseline.passed:
        raise CheckFailed(
            f"the check does not pass with the starting capabilities ({_caps(caps)}): "
            f"{baseline.summary()}",
            hint="run harden prove first and fix the bundle (or start from --start engine-default)",
        )
    current = list(caps)
    verdicts = []
    for cap in caps:
        trial = tuple(c for c in current if c != cap)
        result = log.add(attempt(client, target, with_changes(
            BUNDLE, label=f"the bundle without {cap}", capabilities=trial), progress))  # fmt: skip
        if result.passed:
            current = list(trial)
            verdicts.append(CapVerdict(cap, False, "the check passed without it"))
        else:
            verdicts.append(CapVerdict(cap, True, result.summary()))
    return CapProof(target, caps, tuple(current), tuple(verdicts), tuple(log.attempts))


def _caps(caps: tuple[str, ...]) -> str:
    return ", ".join(caps) if caps else "no capabilities"


__all__ = ["ENGINE_DEFAULT_CAPS", "CapProof", "CapVerdict", "Proof", "minimize_caps", "prove"]
