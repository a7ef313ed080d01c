"""The capability whitelist of a spec (pure): exactly the capabilities it grants."""

from __future__ import annotations

from harden.layers.caps.model import CapabilityPlan
from harden.profile.spec import WorkloadSpec


def build_capabilities(spec: WorkloadSpec) -> CapabilityPlan:
    reasons = {c.name: c.reason for c in spec.capabilities}
    return CapabilityPlan(spec.capability_names, reasons, spec.user.uid, spec.user.gid)


def build(spec: WorkloadSpec, host: object) -> CapabilityPlan:
    """The layer's builder (the whitelist needs nothing from the host)."""
    return build_capabilities(spec)
