"""The capability whitelist: drop ALL, add back only what is granted, in the five sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CapabilityPlan:
    """Which capabilities the workload keeps, and in which of the five sets."""

    keep: tuple[str, ...]
    reasons: Mapping[str, str]
    uid: int
    gid: int

    @property
    def needs_ambient(self) -> bool:
        """A non-root process keeps capabilities across execve only as ambient ones."""
        return self.uid != 0 and bool(self.keep)

    def sets(self) -> dict[str, tuple[str, ...]]:
        """The five capability sets, by their OCI names."""
        ambient = self.keep if self.needs_ambient else ()
        return {
            "bounding": self.keep,
            "effective": self.keep,
            "permitted": self.keep,
            "inheritable": ambient,
            "ambient": ambient,
        }

    def oci(self) -> dict[str, list[str]]:
        """OCI ``process.capabilities`` (names carry the CAP_ prefix)."""
        return {k: [f"CAP_{c}" for c in v] for k, v in self.sets().items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "drop": ["ALL"],
            "add": list(self.keep),
            "reasons": dict(self.reasons),
            "user": {"uid": self.uid, "gid": self.gid},
            "ambient": self.needs_ambient,
            "oci": self.oci(),
        }
