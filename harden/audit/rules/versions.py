"""The Kubernetes versions harden's Pod Security packs are written for.

Kubernetes' Pod Security Admission judges a pod as of one version of the standard (its
``pod-security.kubernetes.io/enforce-version``); harden's gate does the same with the
version its policy or ``--k8s-version`` names, the newest known one by default. A rule
reads that version as the run constant ``kubernetes.minor`` (see :mod:`.cel`), and its
``since`` leaves it out of runs for older versions. A version outside the known range is
refused, never rounded: judging a v1.38 cluster by the v1.37 standard would pass what
v1.38 may refuse.
"""

from __future__ import annotations

import re

Version = tuple[int, int]  # (major, minor): (1, 37) is v1.37

OLDEST: Version = (1, 0)
NEWEST: Version = (1, 37)  # the newest version the PSS packs were checked against

_FORM = re.compile(r"^v?(\d{1,3})\.(\d{1,3})$")


def label(version: Version) -> str:
    return f"v{version[0]}.{version[1]}"


KNOWN = f"{label(OLDEST)} to {label(NEWEST)}"


def parse(text: str) -> Version:
    """``v1.30`` or ``1.30`` -> (1, 30); ValueError naming the known range otherwise."""
    match = _FORM.match(text.strip())
    version = (int(match[1]), int(match[2])) if match else None
    if version is None or not OLDEST <= version <= NEWEST:
        raise ValueError(
            f"unknown Kubernetes version {text!r}: harden knows {KNOWN} (written like v1.30)"
        )
    return version


def run_constants(version: Version) -> dict[str, int]:
    """The run constants a rule may read (``kubernetes.minor``), for one version."""
    return {"kubernetes.minor": version[1]}
