"""`make bench`: every benchmark figure, each against a baseline measured in the same run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import audit, cri, gate, generate, lsm
from bench import record as record_section

SECTIONS = [generate.main, lsm.main]
SECTIONS.append(record_section.main)  # issue 4: recording and proving
SECTIONS.append(audit.main)  # issue 5: host audit
SECTIONS.append(gate.main)  # issue 6: CI gate and fleet reports
SECTIONS.append(cri.main)  # issue 13: Kubernetes nodes through the CRI


def main() -> None:
    for section in SECTIONS:
        section()


if __name__ == "__main__":
    main()
