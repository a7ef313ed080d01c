"""Loading a WorkloadSpec from YAML: syntax, schema and meaning, each error located."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from harden.errors import FileProblems, Problem
from harden.kernel import syscalls as sc
from harden.profile.catalog import syscall_sets
from harden.profile.spec import WorkloadSpec
from harden.system.validation import problems_from_validation
from harden.system.yaml import Located, load_single, parse_documents

MAX_SPEC_BYTES = 1 << 20
_HINT = "the spec format is described under 'Workload spec' in README.md"


@dataclass(frozen=True)
class LoadedSpec:
    spec: WorkloadSpec
    source: str
    warnings: tuple[Problem, ...]


def load_spec(path: Path) -> LoadedSpec:
    """Read, validate and check a workload spec file."""
    doc = load_single(path, what="workload spec", max_bytes=MAX_SPEC_BYTES, max_nodes=50_000)
    return spec_from_document(doc)


def parse_spec(text: str, source: str = "<spec>") -> LoadedSpec:
    docs = parse_documents(text, source, max_nodes=50_000)
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise FileProblems(source, [Problem("expected one workload spec mapping")])
    return spec_from_document(docs[0])


def spec_from_document(doc: Located) -> LoadedSpec:
    try:
        spec = WorkloadSpec.model_validate(doc.data)
    except ValidationError as exc:
        problems = sorted(problems_from_validation(exc, doc), key=lambda p: p.line or 0)
        raise FileProblems(doc.source, problems, hint=_HINT) from None
    problems = _meaning_problems(spec, doc)
    if problems:
        raise FileProblems(doc.source, problems, hint=_HINT)
    return LoadedSpec(spec, doc.source, tuple(_warnings(spec, doc)))


def _closest(name: str, candidates: set[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


def _meaning_problems(spec: WorkloadSpec, doc: Located) -> list[Problem]:
    return [
        *_set_problems(spec, doc),
        *_allow_problems(spec, doc),
        *_deny_problems(spec, doc),
        *_arch_specific_problems(spec, doc),
        *_network_problems(spec, doc),
    ]


def _everywhere() -> frozenset[str]:
    return frozenset().union(*(sc.names(a) for a in sc.Arch))


def _set_problems(spec: WorkloadSpec, doc: Located) -> list[Problem]:
    sets = syscall_sets()
    known = ", ".join(sorted(sets))
    return [
        Problem(
            f"unknown syscall set {name!r}{_closest(name, set(sets))} (known: {known})",
            f"syscalls.sets[{i}]",
            doc.line_of(("syscalls", "sets", i)),
        )
        for i, name in enumerate(spec.syscalls.sets)
        if name not in sets
    ]


def _allow_problems(spec: WorkloadSpec, doc: Located) -> list[Problem]:
    problems: list[Problem] = []
    everywhere = _everywhere()
    for i, name in enumerate(spec.syscalls.allow):
        line = doc.line_of(("syscalls", "allow", i))
        field = f"syscalls.allow[{i}]"
        if name not in everywhere:
            problems.append(
                Problem(f"unknown syscall {name!r}{_closest(name, everywhere)}", field, line)
            )
            continue
        problems.extend(
            Problem(
                f"syscall {name!r} does not exist on {arch}; list it under "
                f"syscalls.arch_specific.{_other(spec, arch)} or drop {arch} from "
                "architectures",
                field,
                line,
            )
            for arch in spec.architectures
            if name not in sc.names(arch)
        )
    return problems


def _deny_problems(spec: WorkloadSpec, doc: Located) -> list[Problem]:
    problems: list[Problem] = []
    everywhere = _everywhere()
    for i, name in enumerate(spec.syscalls.deny):
        line = doc.line_of(("syscalls", "deny", i))
        if name not in everywhere:
            problems.append(
                Problem(
                    f"unknown syscall {name!r}{_closest(name, everywhere)}",
                    f"syscalls.deny[{i}]",
                    line,
                )
            )
        elif name in spec.syscalls.allow:
            problems.append(
                Problem(f"{name!r} is in both allow and deny", f"syscalls.deny[{i}]", line)
            )
        elif name in ESSENTIAL:
            problems.append(Problem(ESSENTIAL[name], f"syscalls.deny[{i}]", line))
    return problems


# What no workload runs without: denied, the container or `harden run` fails at its start
# (or, for exit, never ends) however the rest of the profile is written.
_MEMORY = "cannot be denied: the dynamic loader and libc map and protect memory with it"
ESSENTIAL: dict[str, str] = {
    "execve": "cannot be denied: the runtime starts the workload with execve after the "
    "filter is loaded",
    **dict.fromkeys(("brk", "mmap", "mmap2", "munmap", "mprotect"), _MEMORY),
    **dict.fromkeys(
        ("exit", "exit_group"), "cannot be denied: a process that cannot exit never ends"
    ),
}


def _arch_specific_problems(spec: WorkloadSpec, doc: Located) -> list[Problem]:
    problems: list[Problem] = []
    for arch, names in spec.syscalls.arch_specific.items():
        base = ("syscalls", "arch_specific", arch.value)
        if arch not in spec.architectures and arch.native not in spec.architectures:
            problems.append(
                Problem(
                    f"{arch} is not in architectures",
                    f"syscalls.arch_specific.{arch}",
                    doc.line_of(base),
                )
            )
        problems.extend(
            Problem(
                f"syscall {name!r} does not exist on {arch}{_closest(name, sc.names(arch))}",
                f"syscalls.arch_specific.{arch}[{i}]",
                doc.line_of((*base, i)),
            )
            for i, name in enumerate(names)
            if name not in sc.names(arch)
        )
    return problems


def _network_problems(spec: WorkloadSpec, doc: Located) -> list[Problem]:
    if spec.network.raw_sockets and "NET_RAW" not in spec.capability_names:
        return [
            Problem(
                "raw sockets need the NET_RAW capability; add it to capabilities with a reason",
                "network.raw_sockets",
                doc.line_of(("network", "raw_sockets")),
            )
        ]
    return []


def _other(spec: WorkloadSpec, missing: sc.Arch) -> str:
    others = [a.value for a in spec.architectures if a is not missing]
    return others[0] if others else "x86_64"


def _warnings(spec: WorkloadSpec, doc: Located) -> list[Problem]:
    warnings: list[Problem] = []
    low = [p.port for p in spec.network.listen if p.port < 1024]
    if low and "NET_BIND_SERVICE" not in spec.capability_names:
        warnings.append(
            Problem(
                f"port {low[0]} is below 1024: Docker allows it (ip_unprivileged_port_start=0) "
                "but Kubernetes and other runtimes need NET_BIND_SERVICE",
                "network.listen",
                doc.line_of(("network", "listen")),
            )
        )
    if not spec.is_root and spec.capabilities:
        warnings.append(
            Problem(
                "a non-root user keeps capabilities only as ambient capabilities (OCI, harden run)"
                " or file capabilities; Docker and Kubernetes do not set ambient capabilities",
                "capabilities",
                doc.line_of(("capabilities",)),
            )
        )
    return warnings
