"""The SELinux base policy a module is built for and compiled against.

Debian ships refpolicy as binary modules (``/usr/share/selinux/default/*.pp.bz2``);
``/usr/libexec/selinux/hll/pp`` converts each to CIL, and ``secilc`` compiles all of
them together with a generated module into a real binary policy. Converting takes a
few seconds, so the CIL is cached in harden's cache directory (keyed by the modules'
names, sizes and times; without a usable cache, in a directory removed at exit)
together with the facts a module needs from the base: which type labels each port,
the permissions of every class, and the capabilities no domain may ever have.
"""

from __future__ import annotations

import bz2
import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harden.errors import CheckFailed, ToolMissing
from harden.resources import cache_dir
from harden.system import tools
from harden.system.files import marked, write_tree

POLICY_DIR = Path("/usr/share/selinux/default")
PP_TOOL = Path("/usr/libexec/selinux/hll/pp")
FACTS = "facts.json"
FACTS_VERSION = 1


@dataclass(frozen=True, order=True)
class PortLabel:
    proto: str
    low: int
    high: int
    type: str


@dataclass(frozen=True)
class SelinuxFacts:
    """What a generated module needs to know about the base policy (pure data)."""

    source: str
    ports: tuple[PortLabel, ...]
    class_perms: Mapping[str, frozenset[str]]
    forbidden_caps: frozenset[str]

    def port_type(self, proto: str, port: int) -> str | None:
        """The type the base labels ``proto``/``port`` with: the narrowest range wins."""
        hits = [p for p in self.ports if p.proto == proto and p.low <= port <= p.high]
        if not hits:
            return None
        return min(hits, key=lambda p: (p.high - p.low, p.type)).type

    def has(self, cls: str, perm: str) -> bool:
        return perm in self.class_perms.get(cls, frozenset())


@dataclass(frozen=True)
class SelinuxBase:
    """The converted base policy on disk plus its facts."""

    directory: Path
    files: tuple[Path, ...]
    facts: SelinuxFacts


@functools.cache
def _scratch() -> tempfile.TemporaryDirectory[str]:
    """Where the base is converted when there is no usable cache (removed at exit)."""
    return tempfile.TemporaryDirectory(prefix="harden-selinux-")


def _modules(policy_dir: Path) -> list[Path]:
    tools.require(str(PP_TOOL))  # converts the base policy to CIL
    modules = sorted(policy_dir.glob("*.pp.bz2"))
    if not any(m.name == "base.pp.bz2" for m in modules):
        raise ToolMissing(
            f"no SELinux base policy in {policy_dir} (base.pp.bz2)",
            hint="install selinux-policy-default (Debian); `make test` does",
        )
    return modules


def _key(modules: Iterable[Path]) -> str:
    digest = hashlib.sha256(f"v{FACTS_VERSION}".encode())
    for m in modules:
        st = m.stat()
        digest.update(f"{m.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _convert(module: Path) -> tuple[str, bytes]:
    raw = bz2.decompress(module.read_bytes())
    done = tools.run([str(PP_TOOL)], input=raw, timeout=tools.DEFAULT_TIMEOUT)
    if not done.ok:
        raise CheckFailed(f"{PP_TOOL} could not convert {module.name}: {done.problem()}")
    return module.name.removesuffix(".pp.bz2") + ".cil", done.stdout


@functools.cache
def load_base(policy_dir: Path = POLICY_DIR, cache: Path | None = None) -> SelinuxBase:
    """The base policy as CIL (converted once, then read from the cache); one per process."""
    return convert_base(cache, policy_dir)


def convert_base(cache: Path | None = None, policy_dir: Path = POLICY_DIR) -> SelinuxBase:
    """Convert the base policy into ``cache`` unless it is there already, and read it."""
    modules = _modules(policy_dir)
    root = cache or cache_dir() or Path(_scratch().name)
    target = root / "selinux-base" / _key(modules)
    if not (target / FACTS).is_file():
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            converted = dict(pool.map(_convert, modules))
        facts = facts_from_cil(converted.values(), _describe(policy_dir, len(modules)))
        files = {**converted, FACTS: json.dumps(_facts_json(facts), indent=1).encode()}
        target.parent.mkdir(parents=True, exist_ok=True)
        write_tree(target, files, replaceable=marked(FACTS))
    facts = _facts_from_json(json.loads((target / FACTS).read_text()))
    cil = tuple(sorted(p for p in target.glob("*.cil")))
    return SelinuxBase(target, cil, facts)


def _describe(policy_dir: Path, count: int) -> str:
    try:
        done = tools.run(
            ["dpkg-query", "-W", "-f=${Version}", "selinux-policy-default"], timeout=60
        )
    except ToolMissing:  # not a Debian system: the version is only informative
        done = None
    found = done.stdout.decode(errors="replace").strip() if done is not None and done.ok else ""
    version = f" {found}" if found else ""
    return f"Debian refpolicy (selinux-policy-default{version}): {count} modules in {policy_dir}"


_PORTCON = re.compile(r"^\(portcon (\w+) (?:(\d+)|\((\d+) (\d+)\)) \(\w+ \w+ (\w+) ", re.MULTILINE)
_COMMON = re.compile(r"^\((common|class) (\w+) \(([^()]*)\)\)$", re.MULTILINE)
_CLASSCOMMON = re.compile(r"^\(classcommon (\w+) (\w+)\)$", re.MULTILINE)
_ATTRSET = re.compile(r"^\(typeattributeset (base_typeattr_\d+) (.*)\)$", re.MULTILINE)
_NEVER_CAP = re.compile(
    r"^\(neverallow (\w+) self \((capability2?|cap2?_userns) \(([^()]*)\)\)\)$", re.MULTILINE
)
DOMAIN_ATTRIBUTES = frozenset({"domain", "mcs_constrained_type"})


def facts_from_cil(texts: Iterable[bytes], source: str) -> SelinuxFacts:
    """Parse the facts harden needs out of the base policy's CIL text."""
    ports: set[PortLabel] = set()
    commons: dict[str, set[str]] = {}
    classes: dict[str, set[str]] = {}
    inherits: dict[str, str] = {}
    attrs: dict[str, str] = {}
    nevers: list[tuple[str, str]] = []
    for raw in texts:
        text = raw.decode(errors="replace")
        for proto, single, low, high, type_ in _PORTCON.findall(text):
            lo, hi = (int(single), int(single)) if single else (int(low), int(high))
            ports.add(PortLabel(proto, lo, hi, type_))
        for kind, name, perms in _COMMON.findall(text):
            (commons if kind == "common" else classes).setdefault(name, set()).update(perms.split())
        inherits.update(_CLASSCOMMON.findall(text))
        attrs.update(_ATTRSET.findall(text))
        nevers.extend((src, perms) for src, _cls, perms in _NEVER_CAP.findall(text))
    class_perms = {
        name: frozenset(perms | commons.get(inherits.get(name, ""), set()))
        for name, perms in classes.items()
    }
    forbidden = frozenset(
        perm for src, perms in nevers if _member(src, attrs) for perm in perms.split()
    )
    return SelinuxFacts(source, tuple(sorted(ports)), class_perms, forbidden)


def _member(attr: str, exprs: Mapping[str, str]) -> bool:
    """Whether a new type in only :data:`DOMAIN_ATTRIBUTES` belongs to ``attr``."""
    if attr in DOMAIN_ATTRIBUTES:
        return True
    if attr not in exprs:
        return False
    tokens = exprs[attr].replace("(", " ( ").replace(")", " ) ").split()
    value, _ = _eval(tokens, 0, exprs)
    return value


def _eval(tokens: list[str], i: int, exprs: Mapping[str, str]) -> tuple[bool, int]:
    """Evaluate one CIL attribute expression starting at ``tokens[i]`` (a '(')."""
    assert tokens[i] == "("
    i += 1
    op = tokens[i] if tokens[i] in ("and", "or", "not", "all") else None
    if op is not None:
        i += 1
    values: list[bool] = []
    while tokens[i] != ")":
        if tokens[i] == "(":
            value, i = _eval(tokens, i, exprs)
        else:
            value, i = _member(tokens[i], exprs), i + 1
        values.append(value)
    i += 1
    if op == "and":
        return all(values), i
    if op == "not":
        return not any(values), i
    if op == "all":
        return True, i
    return any(values), i


def _facts_json(facts: SelinuxFacts) -> dict[str, object]:
    return {
        "version": FACTS_VERSION,
        "source": facts.source,
        "ports": [[p.proto, p.low, p.high, p.type] for p in facts.ports],
        "class_perms": {k: sorted(v) for k, v in sorted(facts.class_perms.items())},
        "forbidden_caps": sorted(facts.forbidden_caps),
    }


def _facts_from_json(doc: dict[str, object]) -> SelinuxFacts:
    ports = doc["ports"]
    perms = doc["class_perms"]
    forbidden = doc["forbidden_caps"]
    assert isinstance(ports, list)
    assert isinstance(perms, dict)
    assert isinstance(forbidden, list)
    return SelinuxFacts(
        str(doc["source"]),
        tuple(PortLabel(str(p[0]), int(p[1]), int(p[2]), str(p[3])) for p in ports),
        {str(k): frozenset(v) for k, v in perms.items()},
        frozenset(str(c) for c in forbidden),
    )
