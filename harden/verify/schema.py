"""Structural checks of the Kubernetes, SPO, compose and OCI documents.

The schemas (``schemas/*.json``) are harden's own JSON Schemas of the fields it writes,
with the field names, types, enums and patterns of the APIs that consume them
(Kubernetes core/v1, security-profiles-operator, the Compose Specification, the OCI
runtime-spec). Unknown fields are errors where the API rejects them. (userns.json is
harden's own document: the user namespace layer checks it.)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from harden.errors import HardenError
from harden.layers.selinux.base import SelinuxFacts
from harden.system.yaml import parse_json

SCHEMAS = Path(__file__).parent / "schemas"

# bundle file -> (schema file, $defs entry or "" for the whole schema, or "kind")
DOCUMENTS: dict[str, tuple[str, str]] = {
    "k8s-container.yaml": ("kubernetes", "container"),
    "k8s-pod.yaml": ("kubernetes", "pod"),
    "compose.yaml": ("compose", ""),
    "oci-config.json": ("oci-config", ""),
    "spo-seccomp.yaml": ("spo", "kind"),
    "spo-apparmor.yaml": ("spo", "kind"),
    "spo-selinux.yaml": ("spo", "kind"),
    "spo-selinux-raw.yaml": ("spo", "kind"),
}


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return doc


def _validator(name: str, entry: str) -> Draft202012Validator:
    schema = _schema(name)
    if entry:
        schema = {"$ref": f"#/$defs/{entry}", "$defs": schema["$defs"]}
    return Draft202012Validator(schema)


def _documents(path: Path) -> list[Any]:
    text = path.read_text(errors="replace")
    if path.suffix == ".json":
        return [parse_json(text, path.name)]
    return [d for d in yaml.safe_load_all(text) if d is not None]


def _where(error: Any) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top)"


def check_document(path: Path, facts: SelinuxFacts | None = None) -> list[str]:
    """Problems of one bundle document (empty: it conforms)."""
    name, entry = DOCUMENTS[path.name]
    try:
        docs = _documents(path)
    except HardenError as exc:
        return [exc.message.removeprefix(f"{path.name}: ")]
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {exc}"]
    if not docs:
        return ["no document"]
    problems = []
    for i, doc in enumerate(docs):
        where = f"document {i + 1}: " if len(docs) > 1 else ""
        kind = doc.get("kind") if isinstance(doc, dict) else None
        defs = _schema(name).get("$defs", {})
        if entry == "kind" and kind not in defs:
            problems.append(f"{where}unknown kind {kind!r}")
            continue
        validator = _validator(name, str(kind) if entry == "kind" else entry)
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            problems.append(f"{where}{_where(error)}: {error.message}")
        if kind == "SelinuxProfile" and facts is not None:
            problems += [f"{where}{p}" for p in _selinux_allow(doc, facts)]
    return problems


def _selinux_allow(doc: dict[str, Any], facts: SelinuxFacts) -> Iterator[str]:
    """Classes and permissions of an SPO allow map must exist in the base policy."""
    allow = (doc.get("spec") or {}).get("allow") or {}
    for label, classes in allow.items() if isinstance(allow, dict) else ():
        for cls, perms in (classes or {}).items():
            if cls not in facts.class_perms:
                yield f"spec/allow/{label}/{cls}: the base policy has no class {cls!r}"
                continue
            for perm in perms or ():
                if not facts.has(cls, str(perm)):
                    yield f"spec/allow/{label}/{cls}: {cls} has no permission {perm!r}"
