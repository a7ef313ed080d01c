"""The security fields of a pod as written, at every level that applies to one container.

Pod Security Admission judges the fields a pod *writes*, pod level and container level
each on its own (a pod-level ``seccompProfile: Unconfined`` is refused even where every
container sets ``RuntimeDefault``), with names matched exactly (``chown`` is not
``CHOWN``). :mod:`.pod` gives what the kubelet would apply (the container's value wins,
``privileged`` implies no seccomp and no AppArmor); this module gives what is written,
pod level first, for the rules that judge a configuration as the standard does.
"""

from __future__ import annotations

from harden.audit.sources.kubernetes.pod import SC, PodContainer
from harden.audit.state.model import LayerBuilder


def capabilities(pc: PodContainer, layer: LayerBuilder) -> None:
    c = pc.c
    for fact, key in (("caps.added_as_written", "add"), ("caps.dropped_as_written", "drop")):
        where = (SC, "capabilities", key)
        names = [str(name) for name in c.get(where, list, [])]
        line = c.line(*where) if c.has(*where) else None
        layer.set(fact, names, pc.origin(c, *where), line)
