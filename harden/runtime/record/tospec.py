"""From a recording to an annotated workload spec a person can review and edit.

Recorded syscalls that the sets the spec implies already allow (``core``, the runtime
base set, ``network-server``, ...) are listed in a comment, not repeated under
``syscalls.allow``. Written directories become ``files.tmpfs`` on a read-only root,
unless a tmpfs would hide files the workload also reads there. Capabilities come from
calls that need one (``setuid``, ``chown``, a bind below 1024): prove them with
``harden minimize-caps``. Pure: no I/O.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

from harden.kernel import syscalls as sc
from harden.kernel.constants import ADDRESS_FAMILIES
from harden.layers.seccomp.build import IO_URING
from harden.profile.catalog import capability_facts, syscall_sets
from harden.profile.spec import WorkloadSpec
from harden.profile.triggers import triggers
from harden.runtime.record import paths
from harden.runtime.record.draft import Draft, Origin
from harden.runtime.record.recorder import Recording

_PROGRAMS_SHOWN = 4


def who(programs: Iterable[str]) -> str:
    names = sorted(set(programs))
    shown = ", ".join(names[:_PROGRAMS_SHOWN])
    more = len(names) - _PROGRAMS_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


FLOOR = "floor"


def draft_from_recording(
    rec: Recording, *, name: str, when: str = "", strict: bool = False
) -> Draft:
    """The annotated spec of one recording. Nothing is denied that was not seen to fail:
    the implied sets and the safety floor stay whole, unless ``strict`` trims the
    implied sets to what was recorded (``syscalls.deny``)."""
    draft = Draft({"name": name})
    _header(draft, rec, when)
    draft.note(("name",), Origin.USER, "from --name")
    draft.data["description"] = f"Recorded from {rec.source}"[:200]
    if rec.user is not None:
        draft.data["user"] = {"uid": rec.user[0], "gid": rec.user[1]}
        draft.note(("user",), Origin.RECORDED, "the user the workload started as")
    draft.data["architectures"] = [rec.arch.value]
    draft.note(("architectures",), Origin.RECORDED, "record on other architectures and merge")
    draft.data["runtime"] = rec.runtime if rec.runtime in ("runc", "crun") else "runc"
    _runtime_note(draft)
    _network(draft, rec)
    _files(draft, rec)
    _capabilities(draft, rec)
    draft.data["no_new_privileges"] = True
    draft.note(
        ("no_new_privileges",), Origin.RECORDED, "harden record's default; prove runs with it"
    )
    _syscalls(draft, rec, strict=strict)
    _undecided(draft, rec)
    return draft


def _undecided(draft: Draft, rec: Recording) -> None:
    """What a recording cannot decide, said in the spec and by the command: a workload
    that ran as root (or as an unknown user) and with no limits (a trace sees none)."""
    if rec.user is None or rec.user[0] == 0:
        who_ran = "as root" if rec.user is not None else "as a user it could not see"
        draft.advice.append(
            f"the workload ran {who_ran}: if it can run as another user, set user: "
            "{uid: N, gid: N} (root in a container is root on the host's files it reaches)"
        )
    if "resources" not in draft.data:
        draft.advice.append(
            "no resource limits were recorded (a trace cannot measure them): set resources: "
            "{memory: 256Mi, cpus: 0.5, pids: 128} to what the workload needs"
        )
    lines = [ln for text in draft.advice for ln in textwrap.wrap(f"TO DECIDE: {text}", 92)]
    draft.header[-4:-4] = lines  # before the how-to-read lines


def _header(draft: Draft, rec: Recording, when: str) -> None:
    obs = rec.observations
    processes = f"{len(obs.pids)} processes " if obs.pids else ""
    recorder = "eBPF (bpftrace)" if rec.backend == "ebpf" else "strace"
    draft.header += [
        f"Recorded by harden record{' on ' + when if when else ''} from {rec.source}",
        f"{rec.seconds:.0f} s, {processes}({who(obs.programs())}), "
        f"{obs.calls} system calls recorded on {rec.arch.value} with {recorder}.",
    ]
    if rec.exercise is not None:
        status = "passed" if rec.exercise.ok else f"FAILED (exit {rec.exercise.exit_code})"
        draft.header.append(f"Exercise {rec.exercise.command!r}: {status}.")
    for problem in rec.problems:
        draft.header.append(f"INCOMPLETE: {problem}")
    draft.header += [
        "Each item says where it came from: recorded (seen while recording), runtime base",
        "(syscalls the container runtime needs, measured), user (written by hand).",
        "Review, then: harden generate SPEC -o BUNDLE && harden prove BUNDLE --image IMAGE ...",
        "",
    ]


def _runtime_note(draft: Draft) -> None:
    runtime = draft.data["runtime"]
    base = syscall_sets().get(f"runtime-{runtime}")
    if base is None:
        draft.note(("runtime",), Origin.RUNTIME, f"no measured base set for {runtime}")
        return
    measured = (base.measured or {}).get("runtime", runtime)
    draft.note(
        ("runtime",),
        Origin.RUNTIME,
        f"adds {base.name} ({len(base.syscalls)} syscalls {measured} makes after the filter)",
    )


def _network(draft: Draft, rec: Recording) -> None:
    obs = rec.observations
    net: dict[str, Any] = {}
    listen = sorted(obs.listen)
    if listen:
        net["listen"] = [{"port": port, "protocol": proto} for port, proto in listen]
        for (port, proto), programs in obs.listen.items():
            draft.note(("network", "listen", f"{port}/{proto}"), Origin.RECORDED,
                       f"bind() by {who(programs)}")  # fmt: skip
    outbound = sorted(obs.connect)
    if outbound:
        net["outbound"] = [{"host": h, "port": p, "protocol": pr} for h, p, pr in outbound]
        for (host, port, proto), programs in obs.connect.items():
            draft.note(("network", "outbound", f"{host}:{port}/{proto}"), Origin.RECORDED,
                       f"connect() by {who(programs)}")  # fmt: skip
    fams = obs.families
    uses_ip = bool(listen or outbound)
    if uses_ip or "inet6" in fams:
        net["ipv6"] = "inet6" in fams
        draft.note(("network", "ipv6"), Origin.RECORDED,
                   f"AF_INET6 sockets by {who(fams['inet6'])}" if "inet6" in fams
                   else "no AF_INET6 socket seen")  # fmt: skip
    for flag, family in (("unix", "unix"), ("netlink", "netlink")):
        if family in fams:
            net[flag] = True
            draft.note(("network", flag), Origin.RECORDED, f"AF_{family.upper()} sockets by "
                       f"{who(fams[family])}")  # fmt: skip
    extra = sorted(f for f in fams if f in ADDRESS_FAMILIES and f not in ("unix", "netlink"))
    extra = [f for f in extra if not (uses_ip and f in ("inet", "inet6"))]
    if extra:
        net["families"] = extra
        for family in extra:
            draft.note(("network", "families", family), Origin.RECORDED,
                       f"socket(AF_{family.upper()}) by {who(fams[family])}")  # fmt: skip
    raw = {k: v for k, v in obs.socket_types.items() if k[1] == "raw" and k[0].startswith("inet")}
    if raw:
        net["raw_sockets"] = True
        draft.note(("network", "raw_sockets"), Origin.RECORDED,
                   f"SOCK_RAW by {who(set().union(*raw.values()))}")  # fmt: skip
    if obs.socket_types:
        seen = ", ".join(f"AF_{f.upper()}/{t}" for f, t in sorted(obs.socket_types))
        draft.comment(("network",), f"recorded sockets (family/type): {seen}")
    if net:
        draft.data["network"] = net


def _files(draft: Draft, rec: Recording) -> None:
    obs = rec.observations
    files: dict[str, Any] = {}
    for key, facts in (("read", obs.reads), ("write", obs.writes), ("exec", obs.execs)):
        grouped = paths.collapse(facts)
        relative = sorted(p for p in grouped if not p.startswith("/"))
        if relative:  # a path relative to a working directory the trace did not keep
            draft.comment(("files",), f"seen as relative paths ({key}): {', '.join(relative)}")
            grouped = {p: who_ran for p, who_ran in grouped.items() if p.startswith("/")}
        if grouped:
            files[key] = sorted(grouped)
            for path, programs in grouped.items():
                draft.note(("files", key, path), Origin.RECORDED, who(programs))
    plan = paths.scratch_plan(obs, rec.volumes)
    if plan.tmpfs:
        files["tmpfs"] = sorted(plan.tmpfs)
        for path, why in plan.tmpfs.items():
            draft.note(("files", "tmpfs", path), Origin.RECORDED, why)
    if files:
        draft.data["files"] = files
    draft.data["read_only_rootfs"] = plan.read_only
    draft.note(("read_only_rootfs",), Origin.RECORDED, plan.reason)


def _capabilities(draft: Draft, rec: Recording) -> None:
    hints = rec.observations.capability_hints
    root = rec.user is None or rec.user[0] == 0
    caps = []
    for cap in sorted(hints):
        reasons = "; ".join(f"{why} by {who(p)}" for why, p in sorted(hints[cap].items()))
        if not root:
            assert rec.user is not None
            draft.comment(
                ("capabilities",),
                f"recorded {reasons}: the workload runs as uid {rec.user[0]}, so no "
                f"capability was in effect; {cap} not granted",
            )
            continue
        caps.append({"name": cap, "reason": f"recorded: {reasons}"[:200]})
        draft.note(("capabilities", cap), Origin.RECORDED, "check with harden minimize-caps")
    if caps:
        draft.data["capabilities"] = caps
    for flag, programs in sorted(rec.observations.namespace_flags.items()):
        draft.comment(
            ("capabilities",),
            f"recorded {flag} by {who(programs)}: the profile filters namespace flags out "
            "of clone unless SYS_ADMIN is granted",
        )
    for note, programs in sorted(rec.observations.notes.items()):
        draft.comment(("capabilities",), f"recorded: {note} ({who(programs)}); not granted")


def _covered(spec: WorkloadSpec) -> dict[str, str]:
    """Syscalls the spec allows without listing them: implied sets and capabilities."""
    active = triggers(spec)
    covered: dict[str, str] = {}
    for set_ in syscall_sets().values():
        if set_.kind == "allow" and active.intersection(set_.implied_by):
            for name in set_.syscalls:
                covered.setdefault(name, set_.name)
    for cap in spec.capability_names:
        for name in capability_facts()[cap].syscalls:
            covered.setdefault(name, f"capability {cap}")
    return covered


def _unseen(spec: WorkloadSpec, seen: set[str]) -> dict[str, str]:
    """Syscalls implied sets and capabilities would allow that the workload never made.

    ``core`` (what any program does from start to exit) and the runtime base set are
    kept whole; the workload-specific sets are trimmed to what was recorded.
    """
    sets = syscall_sets()
    keep = set(sets["core"].syscalls) | set(
        sets.get(f"runtime-{spec.runtime}", sets["core"]).syscalls
    )
    unseen: dict[str, str] = {}
    for name, origin in _covered(spec).items():
        if name not in seen and name not in keep and origin != "core":
            unseen[name] = origin
    return unseen


def _syscalls(draft: Draft, rec: Recording, *, strict: bool) -> None:
    spec = WorkloadSpec.model_validate(draft.data)
    covered = _covered(spec)
    for name in syscall_sets()[FLOOR].syscalls:
        covered.setdefault(name, FLOOR)
    syscalls: dict[str, Any] = {"sets": [FLOOR]}
    draft.note(("syscalls", "sets", FLOOR), Origin.RECORDED, "harden record's default: calls "
               "that grant nothing and read only the caller's own state")  # fmt: skip
    by_set: dict[str, set[str]] = {}
    unknown: set[str] = set()
    _io_uring_note(draft, rec)
    for arch, names in sorted(rec.observations.syscalls.items()):
        table = sc.names(arch)
        unknown.update(n for n in names if n not in table)
        for name in names:
            if name in covered:
                by_set.setdefault(covered[name], set()).add(name)
        extra = sorted(n for n in names if n in table and n not in covered and n not in IO_URING)
        if not extra:
            continue
        path = ("syscalls", "allow") if arch is rec.arch else (
            "syscalls", "arch_specific", arch.value)  # fmt: skip
        for name in extra:
            draft.note((*path, name), Origin.RECORDED, who(names[name]))
        if arch is rec.arch:
            syscalls["allow"] = extra
        else:
            syscalls.setdefault("arch_specific", {})[arch.value] = extra
    for set_name, covered_names in sorted(by_set.items()):
        draft.comment(("syscalls",), f"recorded and already allowed by {set_name}: "
                      + ", ".join(sorted(covered_names)))  # fmt: skip
    if unknown:
        draft.comment(("syscalls",), "recorded but unknown to libseccomp (left out): "
                      + ", ".join(sorted(unknown)))  # fmt: skip
    for line in rec.details:
        draft.comment(("capabilities",) if line.startswith("capabilities") else ("syscalls",), line)
    if strict:
        _deny_unseen(draft, rec, spec, syscalls)
    draft.data["syscalls"] = syscalls


def _io_uring_note(draft: Draft, rec: Recording) -> None:
    uring = {n: w for names in rec.observations.syscalls.values() for n, w in names.items()
             if n in IO_URING}  # fmt: skip
    if uring:
        draft.comment(("syscalls",), f"recorded {', '.join(sorted(uring))} by "
                      f"{who(set().union(*uring.values()))}: not allowed unless you set "
                      "syscalls.io_uring: true (io_uring operations bypass seccomp); "
                      "most programs fall back to epoll and threads")  # fmt: skip


def _deny_unseen(
    draft: Draft, rec: Recording, spec: WorkloadSpec, syscalls: dict[str, Any]
) -> None:
    """``--strict``: deny what the implied sets allow but the recording never saw."""
    seen = set().union(*(set(n) for n in rec.observations.syscalls.values()))
    unseen = _unseen(spec, seen)
    if not unseen:
        return
    syscalls["deny"] = sorted(unseen)
    for name, origin in unseen.items():
        draft.note(("syscalls", "deny", name), Origin.RECORDED, f"not seen; from {origin}")
    draft.comment(("syscalls",), "deny (--strict): syscalls the implied sets would allow but "
                  "the workload never made (core and the runtime base set are kept whole); "
                  "delete a line to allow it again")  # fmt: skip
