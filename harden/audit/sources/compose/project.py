"""Compose files: each service -> the inspect object the engine would create -> facts.

A service is translated into the ``docker inspect`` shape (``HostConfig.CapAdd``,
``SecurityOpt``, ``Mounts``, ...) and read by the same code as saved inspect files
(:mod:`harden.audit.sources.docker.declared`), so compose and the live audit agree on every fact.
Each fact then gets the line of the compose key it came from. What compose leaves to
the image (the user, a HEALTHCHECK) is *unavailable*, never assumed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harden.audit.sources.compose import service as cf
from harden.audit.sources.compose.resolve import resolve
from harden.audit.sources.docker import declared as declared_layer
from harden.audit.sources.docker.fields import BadField, EngineDefaults
from harden.audit.sources.docker.resolve import resolve_shared_namespaces
from harden.audit.sources.located import (
    Reader,
    no_effective_layer,
    unreadable_target,
    waiver_key,
)
from harden.audit.state.model import (
    Fact,
    InlineWaiver,
    Layer,
    LayerBuilder,
    SourceKind,
    TargetKind,
    TargetState,
    build_state,
)
from harden.errors import HardenError
from harden.system.yaml import Located, parse_json, read_text

_D = ("deploy", "resources", "limits")
FACT_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "image": (("image",),),
    "labels": (("labels",),),
    "user.name": (("user",),),
    "user.uid": (("user",),),
    "privileged": (("privileged",),),
    "caps.added": (("cap_add",),),
    "caps.dropped": (("cap_drop",),),
    "caps.bounding": (("privileged",), ("cap_add",), ("cap_drop",)),
    "caps.effective": (("privileged",), ("cap_add",), ("cap_drop",), ("user",)),
    "namespaces.pid": (("pid",),),
    "namespaces.net": (("network_mode",),),
    "namespaces.ipc": (("ipc",),),
    "namespaces.uts": (("uts",),),
    "userns.mode": (("userns_mode",),),
    "namespaces.user": (("userns_mode",),),
    "namespaces.cgroup": (("cgroup",),),
    "resources.memory": (("mem_limit",), (*_D, "memory")),
    "resources.cpu_millis": (("cpus",), (*_D, "cpus"), ("cpu_quota",)),
    "resources.cpu_shares": (("cpu_shares",),),
    "resources.pids": (("pids_limit",), (*_D, "pids")),
    "resources.cgroup_parent": (("cgroup_parent",),),
    "resources.ulimits": (("ulimits",),),
    "rootfs.read_only": (("read_only",),),
    "mounts": (("volumes",),),
    "masked_paths": (("privileged",), ("security_opt",)),
    "readonly_paths": (("privileged",), ("security_opt",)),
    "devices.passed": (("devices",), ("device_cgroup_rules",)),
    "devices.all_allowed": (("privileged",), ("device_cgroup_rules",)),
    "network.mode": (("network_mode",),),
    "network.ports": (("ports",),),
    "restart.policy": (("restart",), ("deploy", "restart_policy")),
    "restart.max_retries": (("restart",), ("deploy", "restart_policy")),
    "healthcheck.configured": (("healthcheck",),),
    "sysctls": (("sysctls",),),
}
_SECURITY = ("security_opt",), ("privileged",)
_SECURITY_FACTS = ("seccomp", "selinux", "apparmor", "no_new")
MAX_SECCOMP_BYTES = 1 << 20


def is_compose(data: object) -> bool:
    return isinstance(data, dict) and "kind" not in data and isinstance(data.get("services"), dict)


def project_name(doc: Located) -> str:
    name = doc.data.get("name")
    return name if isinstance(name, str) and name else Path(doc.source).resolve().parent.name


def targets(original: Located) -> tuple[list[TargetState], list[str]]:
    """Each service as a target (interpolated, extends merged), and the scan problems."""
    resolved = resolve(original)
    doc = resolved.doc
    project = project_name(doc)
    services: dict[str, Any] = doc.data["services"]
    names = {svc: f"compose/{project}/{svc}" for svc in services}
    layers: dict[str, tuple[LayerBuilder, LayerBuilder]] = {}
    out: dict[str, TargetState] = {}
    for svc in services:
        reader = Reader(doc, ("services", svc))
        if not isinstance(reader.raw(), dict):
            reason = f"{doc.source}:{reader.line()}: services.{svc}: a service must be a map"
            out[svc] = unreadable_target(
                names[svc], SourceKind.COMPOSE, reason, doc.source, reader.line()
            )
            continue
        layers[svc] = (_declared(reader, svc, names), no_effective_layer())
    by_id = {names[svc]: pair[0] for svc, pair in layers.items()}
    resolve_shared_namespaces(by_id, {n: n for n in by_id}, None, EngineDefaults())
    for svc, pair in layers.items():
        reader = Reader(doc, ("services", svc))
        out[svc] = build_state(
            TargetKind.CONTAINER,
            names[svc],
            names[svc],
            SourceKind.COMPOSE,
            *pair,
            file=doc.source,
            line=reader.line(),
            waivers=_waivers(reader),
        )
    return [out[svc] for svc in services], resolved.problems


def _declared(reader: Reader, svc: str, names: dict[str, str]) -> LayerBuilder:
    try:
        raw, seccomp_problem = cf.inspect_object(reader, svc, names, _seccomp_file)
    except BadField as exc:
        layer = LayerBuilder(Layer.DECLARED)
        layer.fail_all(tuple(FACT_KEYS), str(exc))
        return layer
    collected = declared_layer.collect(raw, reader.doc.source, EngineDefaults())
    layer = LayerBuilder(Layer.DECLARED)
    for path, fact in collected.facts.items():
        keys = FACT_KEYS.get(path) or (_SECURITY if path.startswith(_SECURITY_FACTS) else ())
        present = [k for k in keys if reader.has(*k)]
        where = f"services.{svc}." + ".".join(present[0]) if present else f"services.{svc}"
        line = reader.line(*present[0]) if present else reader.line()
        origin = f"{reader.doc.source}: {where}" + ("" if present else " (not set)")
        layer.facts[path] = Fact(fact.value, origin, line)
    layer.gaps.update(collected.gaps)
    layer.set("id", names[svc], f"{reader.doc.source}: services.{svc}", reader.line())
    layer.set("name", names[svc], f"{reader.doc.source}: services.{svc}", reader.line())
    if not reader.has("user"):
        for missing in ("user.uid", "caps.effective"):
            layer.facts.pop(missing, None)
            layer.unavailable(missing, "no user key: the image's USER decides")
    if not reader.has("healthcheck"):
        layer.facts.pop("healthcheck.configured", None)
        layer.unavailable(
            "healthcheck.configured", "no healthcheck key: the image's HEALTHCHECK decides"
        )
    if seccomp_problem:
        for missing in ("seccomp.profile", "seccomp.mode", "seccomp.allows_all"):
            layer.facts.pop(missing, None)
            layer.fail(missing, seccomp_problem)
    return layer


def _seccomp_file(reader: Reader, value: str) -> tuple[str, str]:
    """(the profile's JSON text, '') or ('', why it cannot be read) for ``seccomp=FILE``."""
    path = Path(reader.doc.source).parent / value
    try:
        text = read_text(path, max_bytes=MAX_SECCOMP_BYTES, what="seccomp profile")
        parse_json(text, str(path))
    except HardenError as exc:
        return "", f"{reader.doc.source}:{reader.line('security_opt')}: {exc.message}"
    return text, ""


def _waivers(reader: Reader) -> tuple[InlineWaiver, ...]:
    labels = reader.raw("labels")
    out = []
    if isinstance(labels, dict):
        for key, value in labels.items():
            rule = waiver_key(str(key))
            if rule is not None:
                out.append(InlineWaiver(rule, str(value), reader.line("labels", key)))
    elif isinstance(labels, list):
        for index, item in enumerate(labels):
            key, _, value = str(item).partition("=")
            rule = waiver_key(key)
            if rule is not None:
                out.append(InlineWaiver(rule, value, reader.line("labels", index)))
    return tuple(sorted(out, key=lambda w: w.rule))
