"""``userns.json``: the workload's range and every form that applies it."""

from __future__ import annotations

import json

from harden.layers.userns.model import Plan

USERNS_FILE = "userns.json"
USERNS_NOTE = (
    "One range for this workload from the pool it was generated with. Several workloads "
    "on one host need ranges planned together: harden userns plan --tenants N --from FILE."
)


def files(plan: Plan | None) -> dict[str, bytes]:
    """The file, when the spec asks for a user namespace."""
    if plan is None:
        return {}
    doc = {**plan.to_json(), "note": USERNS_NOTE}
    return {USERNS_FILE: (json.dumps(doc, indent=2) + "\n").encode()}
