"""Following ``container:<x>`` namespace modes to what they finally share.

``--pid container:a`` where ``a`` runs with ``--pid host`` shares the host's PID
namespace: the declared fact becomes ``host``. Chains are followed transitively; a
container outside the scan is inspected (read-only) to finish the chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harden.audit.sources.docker import declared as declared_layer
from harden.audit.sources.docker.fields import EngineDefaults
from harden.audit.state.model import Fact, LayerBuilder
from harden.system.engine import EngineAPI, EngineError, container_path

SHARED_KINDS = ("pid", "net", "ipc", "uts")
_MAX_HOPS = 16


class _Lookup:
    def __init__(
        self,
        declared: Mapping[str, LayerBuilder],
        names: dict[str, str],
        api: EngineAPI | None,
        defaults: EngineDefaults,
    ) -> None:
        self.declared = dict(declared)
        self.names = dict(names)
        self.api = api
        self.defaults = defaults

    def find(self, ref: str) -> str:
        """The ID of the container ``ref`` (ID, ID prefix or name) names."""
        for cid, name in self.names.items():
            if ref in (cid, name) or (len(ref) >= 12 and cid.startswith(ref)):
                return cid
        if self.api is None:
            raise LookupError(f"container {ref!r} is not in this scan")
        try:
            raw: Any = self.api.get(container_path(ref))
        except EngineError as exc:
            raise LookupError(f"container {ref!r} cannot be inspected: {exc.reason}") from None
        if not isinstance(raw, dict):
            raise LookupError(f"the engine's answer for container {ref!r} is not an object")
        cid = str(raw.get("Id", ref))
        self.names[cid] = str(raw.get("Name", ref)).lstrip("/")
        self.declared[cid] = declared_layer.collect(raw, "engine", self.defaults)
        return cid

    def mode(self, cid: str, kind: str) -> Fact | None:
        return self.declared[cid].facts.get(f"namespaces.{kind}")


def resolve_shared_namespaces(
    declared_layers: Mapping[str, LayerBuilder],
    names: dict[str, str],
    api: EngineAPI | None,
    defaults: EngineDefaults,
) -> None:
    """Rewrite every ``container:<x>`` namespace fact of the declared layers in place."""
    lookup = _Lookup(declared_layers, names, api, defaults)
    results: list[tuple[LayerBuilder, str, Fact, str | LookupError, list[str]]] = []
    for cid, declared in declared_layers.items():  # resolve on the original modes first
        for kind in SHARED_KINDS:
            fact = declared.facts.get(f"namespaces.{kind}")
            if fact is None or not str(fact.value).startswith("container:"):
                continue
            try:
                shared, chain = _follow(lookup, cid, kind)
                results.append((declared, kind, fact, shared, chain))
            except LookupError as exc:
                results.append((declared, kind, fact, exc, []))
    for declared, kind, fact, value, chain in results:
        path = f"namespaces.{kind}"
        if isinstance(value, LookupError):
            declared.facts.pop(path)
            declared.fail(path, f"{fact.origin}: {value}")
        else:
            declared.set(path, value, f"{fact.origin} -> {' -> '.join(chain)}")


def _follow(lookup: _Lookup, start: str, kind: str) -> tuple[str, list[str]]:
    current = start
    chain: list[str] = []
    for _ in range(_MAX_HOPS):
        fact = lookup.mode(current, kind)
        value = str(fact.value) if fact is not None else "private"
        if not value.startswith("container:"):
            if value == "host":
                return "host", chain
            return (f"container:{lookup.names.get(current, current)}" if chain else value), chain
        current = lookup.find(value.removeprefix("container:"))
        chain.append(lookup.names.get(current, current))
        if current == start:
            raise LookupError("the namespace references form a loop")
    raise LookupError(f"more than {_MAX_HOPS} containers in the namespace chain")
