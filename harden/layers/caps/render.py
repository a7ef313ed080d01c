"""``capabilities.json``: the whitelist, its reasons and the five OCI sets."""

from __future__ import annotations

import json

from harden.layers.caps.model import CapabilityPlan

CAPS_FILE = "capabilities.json"


def files(plan: CapabilityPlan) -> dict[str, bytes]:
    return {CAPS_FILE: (json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n").encode()}
