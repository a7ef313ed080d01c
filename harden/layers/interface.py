"""What the LSM layers and their deployable forms share: names, and the one error for
a spec that a layer cannot express.

Every layer names its artefact after the workload the same way (``harden-<name>``),
so the AppArmor profile, the SELinux block, the security-profiles-operator objects and
the forms that refer to them always agree.
"""

from __future__ import annotations

from harden.errors import InputError
from harden.profile.spec import WorkloadSpec

PREFIX = "harden-"


def layer_name(spec: WorkloadSpec) -> str:
    """``harden-<name>`` with ``.`` and ``_`` turned into ``-``.

    The result is a valid AppArmor profile name, SELinux CIL block name, semodule
    module name and Kubernetes object name (DNS-1123 label) at once.
    """
    return PREFIX + spec.name.replace(".", "-").replace("_", "-")


def selinux_process_type(spec: WorkloadSpec) -> str:
    """The SELinux domain of the workload: the ``process`` type of its CIL block."""
    return f"{layer_name(spec)}.process"


def selinux_file_type(spec: WorkloadSpec) -> str:
    """The SELinux type of the workload's files (root file system, tmpfs, volumes)."""
    return f"{layer_name(spec)}.content"


class Unexpressible(InputError):
    """A spec asks for something a layer cannot express; nothing was written."""

    def __init__(self, layer: str, field: str, message: str, *, hint: str = "") -> None:
        self.layer = layer
        self.field = field
        super().__init__(f"{field}: {message} ({layer})", hint=hint)
