"""Kubernetes specifics of ``harden fix``: the AppArmor form a cluster version takes, a
bundle's container fields, and the strategic merge patch of the edits.

``securityContext.appArmorProfile`` exists from Kubernetes 1.30; older clusters read the
``container.apparmor.security.beta.kubernetes.io/<container>`` annotation of the pod
template. Newer ones accept both, but refuse them when they disagree: an annotation that
is there is kept in step with the field.
"""

from __future__ import annotations

from typing import Any

from harden.fix.document import node_at
from harden.fix.places import Place
from harden.fix.steps import Change, plain, set_value, unset
from harden.system.yaml import PathKey

APPARMOR_FIELD_SINCE = (1, 30)
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
SC = "securityContext"
_APPARMOR = (SC, "appArmorProfile")
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def _annotation_value(profile: Any) -> str:
    kind = str(profile.get("type", "")) if isinstance(profile, dict) else ""
    if kind == "Localhost":
        return f"localhost/{profile.get('localhostProfile', '')}"
    return {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}.get(kind, "")


def apparmor_form(
    doc: Any, place: Place, changes: list[Change], version: tuple[int, int]
) -> list[Change]:
    """After the container's appArmorProfile was edited: the form ``version`` reads."""
    field = (*place.path, *_APPARMOR)
    if not any(c.path[: len(field)] == field for c in changes):
        return []
    container = node_at(doc, place.path)
    profile = container.get(SC, {}).get("appArmorProfile")
    value = _annotation_value(profile)
    meta = node_at(doc, place.template_meta)
    key = APPARMOR_ANNOTATION + place.name
    at = (place.document, place.template_meta)
    out: list[Change] = []
    if version < APPARMOR_FIELD_SINCE:
        out += unset(container, _APPARMOR, (place.document, place.path))
        if not container.get(SC):
            out += unset(container, (SC,), (place.document, place.path))
        if value:
            out += set_value(meta, ("annotations", key), value, at)
    elif isinstance(meta.get("annotations"), dict) and key in meta["annotations"] and value:
        out += set_value(meta, ("annotations", key), value, at)
    return out


def apply_bundle(container: dict[Any, Any], form: dict[str, Any], at: tuple[int, PathKey]
                 ) -> list[Change]:  # fmt: skip
    """The bundle's ``k8s-container.yaml`` fields onto a container entry."""
    out: list[Change] = []
    context = form.get(SC, {})
    for path, value in _leaves(context, (SC,)):
        if path[:2] == (SC, "capabilities"):
            continue
        out += set_value(container, path, value, at)
    caps = context.get("capabilities", {})
    out += set_value(container, (SC, "capabilities", "drop"), caps.get("drop", ["ALL"]), at)
    if caps.get("add"):
        out += set_value(container, (SC, "capabilities", "add"), caps["add"], at)
    else:
        out += unset(container, (SC, "capabilities", "add"), at)
    for path, value in _leaves(form.get("resources", {}), ("resources",)):
        out += set_value(container, path, value, at)
    return out


def _leaves(data: Any, prefix: PathKey) -> list[tuple[PathKey, Any]]:
    if not isinstance(data, dict):
        return [(prefix, data)]
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and key not in ("seccompProfile", "appArmorProfile"):
            out += _leaves(value, (*prefix, key))
        else:
            out.append(((*prefix, key), value))
    return out


# -- the strategic merge patch -------------------------------------------------------


def patch_object(before: Any, after: Any) -> dict[str, Any] | None:
    """A strategic merge patch taking one object from ``before`` to ``after`` (None: no
    change): containers are merged by name, other lists replaced, removed keys null."""
    body = _diff(plain(before), plain(after))
    if body is None:
        return None
    meta = after.get("metadata", {}) if isinstance(after, dict) else {}
    identity = {k: plain(meta[k]) for k in ("name", "namespace") if k in meta}
    head: dict[str, Any] = {
        "apiVersion": after.get("apiVersion"),
        "kind": after.get("kind"),
        "metadata": {**identity, **(body.pop("metadata", None) or {})},
    }
    return {**head, **body}


def _diff(before: Any, after: Any, key: str = "") -> Any:
    if isinstance(before, dict) and isinstance(after, dict):
        out: dict[str, Any] = {}
        for k in after:
            if k not in before:
                out[k] = after[k]
            else:
                sub = _diff(before[k], after[k], k)
                if sub is not None:
                    out[k] = sub
        for k in before:
            if k not in after:
                out[k] = None
        return out or None
    if key in CONTAINER_LISTS and isinstance(before, list) and isinstance(after, list):
        by_name = {c.get("name"): c for c in before if isinstance(c, dict)}
        merged = []
        for item in after:
            if not isinstance(item, dict):
                continue
            sub = _diff(by_name.get(item.get("name"), {}), item)
            if sub is not None:
                merged.append({"name": item.get("name"), **sub})
        return merged or None
    return None if before == after else after
