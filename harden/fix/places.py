"""Where each target the gate judged sits in its file, to edit it there.

The gate names a target and the line it starts at; the same reading of the file
(:mod:`harden.audit.sources.kubernetes.objects`, the compose ``services`` map) gives the
path of that container or service inside its document.
"""

from __future__ import annotations

from dataclasses import dataclass

from harden.audit.sources.kubernetes.objects import Found, containers, find_workloads
from harden.system.yaml import Located, PathKey


@dataclass(frozen=True)
class Place:
    """One container of a Kubernetes workload, or one compose service."""

    document: int  # index among the file's documents
    path: PathKey  # the container entry / the service, from the document root
    name: str  # container or service name
    pod: PathKey = ()  # Kubernetes: the pod spec
    template_meta: PathKey = ()  # Kubernetes: the pod template's metadata (Pod: its own)
    workload: PathKey = ()  # Kubernetes: the object (() or ("items", 3))
    kind: str = ""  # Kubernetes: the object's kind


def kubernetes_places(docs: list[Located]) -> dict[int, Place]:
    """Every container of every workload, by the line its entry starts at."""
    out: dict[int, Place] = {}
    for index, doc in enumerate(docs):
        found = Found()
        find_workloads(doc, frozenset(), found)
        for workload in found.workloads:
            meta = workload.template_meta or (*workload.path, "metadata")
            for path, name, _ctype in containers(workload):
                line = doc.line_of(path)
                if line is not None:
                    out[line] = Place(
                        index, path, name, workload.pod, meta, workload.path, workload.kind
                    )
    return out


def compose_places(doc: Located) -> dict[int, Place]:
    """Every service of a compose file, by the line its entry starts at."""
    services = doc.data.get("services") if isinstance(doc.data, dict) else None
    out: dict[int, Place] = {}
    for name in services if isinstance(services, dict) else ():
        line = doc.line_of(("services", name))
        if line is not None:
            out[line] = Place(0, ("services", name), str(name))
    return out
