"""The facts of a bundle on disk that cross-layer checks compare, read tolerantly.

Every file may have been edited by hand. A layer that is missing or unreadable is
``None`` (its checks are skipped; ``harden verify`` reports the file itself). The
AppArmor and CIL readers understand the rules the checks need (capability, network,
mount, profile name; capability permissions and the block name), not whole languages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harden.errors import HardenError
from harden.kernel import capabilities as capmod
from harden.layers.seccomp.jsonio import load_profile
from harden.layers.seccomp.model import Profile
from harden.layers.selinux.cil import CilSyntaxError, blocks
from harden.profile.loader import load_spec
from harden.profile.spec import WorkloadSpec

_RULE = re.compile(r"^\s*(?:audit\s+)?(deny\s+)?(capability|network|mount|umount|remount)\b(.*)$")
_PROFILE = re.compile(r"^\s*profile\s+([^\s{]+)")


@dataclass(frozen=True)
class AppArmorFacts:
    name: str
    caps_allowed: frozenset[str]  # upper case; "ALL" when a bare `capability,` allows all
    caps_denied: frozenset[str]
    net_allow: frozenset[tuple[str, str]]  # ("", "") is a bare `network,`
    net_deny: frozenset[tuple[str, str]]
    mount_allowed: bool

    def capability(self, cap: str) -> bool:
        allowed = cap in self.caps_allowed or "ALL" in self.caps_allowed
        return allowed and cap not in self.caps_denied and "ALL" not in self.caps_denied

    def network(self, family: str, sock_type: str = "") -> bool:
        """Whether ``family`` sockets (of ``sock_type``; empty: of some type) are allowed."""
        for fam, typ in self.net_deny:
            if fam in ("", family) and typ in ("", sock_type):
                return False
        return any(
            fam in ("", family) and (not typ or not sock_type or typ == sock_type)
            for fam, typ in self.net_allow
        )


def _strip_comment(line: str) -> str:
    out, quoted = [], False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        if ch == "#" and not quoted:
            break
        out.append(ch)
    return "".join(out).strip()


def apparmor_facts(text: str) -> AppArmorFacts:
    name = ""
    allowed: set[str] = set()
    denied: set[str] = set()
    net_allow: set[tuple[str, str]] = set()
    net_deny: set[tuple[str, str]] = set()
    mount = False
    for raw in text.splitlines():
        if not name and (m := _PROFILE.match(raw)):
            name = m.group(1)
        line = _strip_comment(raw)
        match = _RULE.match(line)
        if match is None:
            continue
        deny, kind, rest = bool(match.group(1)), match.group(2), match.group(3)
        words = rest.replace(",", " ").split()
        if kind == "capability":
            names = {w.upper() for w in words} or {"ALL"}
            (denied if deny else allowed).update(names)
        elif kind == "network":
            pair = (words[0] if words else "", words[1] if len(words) > 1 else "")
            (net_deny if deny else net_allow).add(pair)
        elif kind in ("mount", "remount") and not deny:
            mount = True
    return AppArmorFacts(
        name,
        frozenset(allowed),
        frozenset(denied),
        frozenset(net_allow),
        frozenset(net_deny),
        mount,
    )


@dataclass(frozen=True)
class SelinuxFacts:
    block: str
    caps: frozenset[str]  # upper case, from capability/capability2 on self


def selinux_facts(text: str) -> SelinuxFacts | None:
    try:
        found = [b for b in blocks(text) if not b.abstract]
    except CilSyntaxError:
        return None
    if not found:
        return None
    block = found[0]
    caps = {
        perm.upper()
        for a in block.allows
        if a.target == "self" and a.cls in ("capability", "capability2")
        for perm in a.perms
    }
    return SelinuxFacts(block.name, frozenset(caps))


@dataclass(frozen=True)
class IdMapping:
    container: int
    host: int
    size: int


@dataclass(frozen=True)
class BundleFacts:
    path: Path
    spec: WorkloadSpec | None = None
    caps: frozenset[str] | None = None
    seccomp: Profile | None = None
    apparmor: AppArmorFacts | None = None
    selinux: SelinuxFacts | None = None
    uid_mappings: tuple[IdMapping, ...] | None = None
    gid_mappings: tuple[IdMapping, ...] | None = None
    forms: Mapping[str, Any] = field(default_factory=dict)


def _load(path: Path) -> Any:
    text = path.read_text(errors="replace")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _read(path: Path) -> Any:
    try:
        return _load(path) if path.is_file() else None
    except (ValueError, yaml.YAMLError, OSError):
        return None


def _caps(doc: Any) -> frozenset[str] | None:
    add = doc.get("add") if isinstance(doc, dict) else None
    if not isinstance(add, list):
        return None
    return frozenset(c for c in (capmod.normalise(str(a)) for a in add) if c)


def _mappings(doc: Any, key: str) -> tuple[IdMapping, ...] | None:
    linux = doc.get("linux") if isinstance(doc, dict) else None
    entries = linux.get(key) if isinstance(linux, dict) else None
    if not isinstance(entries, list):
        return None
    out = []
    for e in entries:
        if isinstance(e, dict) and all(
            isinstance(e.get(k), int) for k in ("containerID", "hostID")
        ):
            out.append(IdMapping(e["containerID"], e["hostID"], int(e.get("size", 0))))
    return tuple(out)


def read_facts(path: Path) -> BundleFacts:
    """Everything the cross-layer checks need from the bundle at ``path``."""
    try:
        spec: WorkloadSpec | None = load_spec(path / "spec.yaml").spec
    except HardenError:
        spec = None
    try:
        seccomp: Profile | None = load_profile(path / "seccomp.json")
    except HardenError:
        seccomp = None
    aa_path = path / "apparmor.profile"
    apparmor = apparmor_facts(aa_path.read_text(errors="replace")) if aa_path.is_file() else None
    modules = [p for p in sorted(path.glob("*.cil")) if p.name != "harden-blocks.cil"]
    selinux = selinux_facts(modules[0].read_text(errors="replace")) if modules else None
    oci = _read(path / "oci-config.json")
    forms = {
        name: _read(path / name)
        for name in ("compose.yaml", "k8s-container.yaml", "k8s-pod.yaml", "oci-config.json")
    }
    docker = path / "docker-run.txt"
    forms["docker-run.txt"] = docker.read_text(errors="replace") if docker.is_file() else None
    return BundleFacts(
        path=path,
        spec=spec,
        caps=_caps(_read(path / "capabilities.json")),
        seccomp=seccomp,
        apparmor=apparmor,
        selinux=selinux,
        uid_mappings=_mappings(oci, "uidMappings"),
        gid_mappings=_mappings(oci, "gidMappings"),
        forms=forms,
    )
