"""Checking ``capabilities.json`` against the kernel's capability table.

There is no external tool for a whitelist: the check is that every name is a
capability of the kernel's table (include/uapi/linux/capability.h) and that the OCI
sets the file carries are the whitelist itself, as the engine would apply them.
"""

from __future__ import annotations

from collections.abc import Mapping

from harden.errors import HardenError
from harden.kernel import capabilities as capmod
from harden.layers.caps.model import CapabilityPlan
from harden.layers.caps.parse import parse_capabilities
from harden.layers.caps.render import CAPS_FILE
from harden.layers.interface import Checked, Verdict, judge
from harden.system.yaml import parse_json

CHECKER = "capability table"


def _id(user: object, key: str) -> int:
    value = user.get(key) if isinstance(user, dict) else None
    return value if isinstance(value, int) else 0


def _sets(oci: object) -> object:
    """The OCI capability sets with each list as a set (order carries no meaning)."""
    if not isinstance(oci, dict):
        return oci
    return {
        key: frozenset(v) if isinstance(v, list) and all(isinstance(c, str) for c in v) else v
        for key, v in oci.items()
    }


def _check(text: str) -> Checked:
    doc = parse_json(text, CAPS_FILE)
    keep, reasons = parse_capabilities(doc, CAPS_FILE)
    user = doc.get("user")
    uid, gid = (_id(user, key) for key in ("uid", "gid"))
    plan = CapabilityPlan(keep, reasons, uid, gid)
    if doc.get("drop") != ["ALL"]:
        raise HardenError(f"'drop' is {doc.get('drop')!r}, not ['ALL']: other capabilities stay")
    if _sets(doc.get("oci")) != _sets(plan.oci()):
        raise HardenError("the 'oci' sets differ from 'add' (the engine would apply other sets)")
    detail = f"{len(keep)} of the kernel's {len(capmod.CAPABILITIES)} capabilities kept"
    return Checked(CAPS_FILE, CHECKER, Verdict.OK, detail)


def check(files: Mapping[str, bytes], host: object) -> list[Checked]:
    if CAPS_FILE not in files:
        return [Checked(CAPS_FILE, CHECKER, Verdict.FAILED, "missing: the whitelist is unknown")]
    return [judge(CAPS_FILE, CHECKER, lambda: _check(files[CAPS_FILE].decode(errors="replace")))]
