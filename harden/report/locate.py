"""Where a finding is (file and line), and its stable fingerprint.

The location is the line of the first fact the rule read that has one (the field that
decided it), else the line where the target starts. The fingerprint names the rule, the
target, the host and the input file, never a line: moving lines keeps it, which is what
the baseline and SARIF's partialFingerprints need.
"""

from __future__ import annotations

import os

from harden.audit.report import TargetResult
from harden.audit.rules.model import Finding

FINGERPRINT_VERSION = 1


def location(result: TargetResult, finding: Finding) -> tuple[str, int | None]:
    for evidence in finding.evidence:
        if evidence.line is not None:
            return result.file, evidence.line
    return result.file, result.line


def fingerprint(result: TargetResult, finding: Finding) -> str:
    return fingerprint_of(finding.rule.id, result.name, result.file, result.host)


def fingerprint_of(rule: str, target: str, file: str, host: str = "") -> str:
    path = os.path.normpath(file) if file else ""
    key = "\0".join((str(FINGERPRINT_VERSION), rule, host, target, path))
    try:  # a name read from undecodable bytes hashes as those bytes
        data = key.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape (\ud800) is no byte
        data = key.encode("utf-8", "surrogatepass")
    import hashlib  # noqa: PLC0415 - OpenSSL costs ~5 ms; only baselines and SARIF need it

    return hashlib.sha256(data).hexdigest()[:32]
