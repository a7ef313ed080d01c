"""Building the seccomp profile of a workload spec (pure: no I/O beyond cached data).

Allow-list only: the default action is ERRNO(EPERM); syscalls that libc probes and
replaces get ENOSYS; argument filters restrict clone (no namespaces without
SYS_ADMIN), socket/socketpair (address families and types the spec needs) and
personality (safe values). Every allowed syscall keeps its origins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from harden.kernel import constants as k
from harden.kernel import syscalls as sc
from harden.kernel.syscalls import SUB_ARCHES, Arch
from harden.layers.seccomp.model import (
    Action,
    ArchGroup,
    ArgCond,
    Condition,
    Op,
    Profile,
    SyscallRule,
)
from harden.profile.catalog import CapabilityFacts, SyscallSet, capability_facts, syscall_sets
from harden.profile.spec import WorkloadSpec
from harden.profile.triggers import triggers

ORIGIN_PREFIX = "harden: "
# io_uring submits socket, openat, unlinkat, symlinkat, ... as ring operations that never
# reach the seccomp filter: allowing these three allows all of that.
IO_URING = ("io_uring_setup", "io_uring_enter", "io_uring_register")
_GO_ARCH = {Arch.X86_64: "amd64", Arch.AARCH64: "arm64"}


@dataclass(frozen=True, order=True)
class Origin:
    """Why a syscall is in the profile: a set, a capability, the spec, or a guard."""

    kind: str  # "set" | "capability" | "spec" | "guard"
    name: str

    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass
class _Plan:
    allowed: dict[str, set[Origin]] = field(default_factory=dict)
    only_on: dict[str, Arch] = field(default_factory=dict)

    def add(self, name: str, origin: Origin) -> None:
        self.allowed.setdefault(name, set()).add(origin)


def _plan(
    spec: WorkloadSpec, sets: Mapping[str, SyscallSet], caps: Mapping[str, CapabilityFacts]
) -> _Plan:
    plan = _Plan()
    active = triggers(spec)
    for set_ in sets.values():
        if set_.kind != "allow":
            continue
        if set_.name in spec.syscalls.sets or active.intersection(set_.implied_by):
            for name in set_.syscalls:
                plan.add(name, Origin("set", set_.name))
    for cap in spec.capability_names:
        for name in caps[cap].syscalls:
            plan.add(name, Origin("capability", cap))
    for name in spec.syscalls.allow:
        plan.add(name, Origin("spec", "syscalls.allow"))
    for arch, names in spec.syscalls.arch_specific.items():
        for name in names:
            plan.add(name, Origin("spec", f"syscalls.arch_specific.{arch}"))
            if arch in _GO_ARCH and any(name in sc.names(o) for o in _GO_ARCH if o is not arch):
                plan.only_on[name] = arch
    for name in spec.syscalls.deny:
        plan.allowed.pop(name, None)
    _io_uring(spec, plan)
    return plan


def _io_uring(spec: WorkloadSpec, plan: _Plan) -> None:
    """io_uring only with ``syscalls.io_uring``: a set, a capability or syscalls.allow naming
    one of its calls does not allow it (it would bypass the rest of the filter)."""
    for name in IO_URING:
        if spec.syscalls.io_uring:
            plan.add(name, Origin("spec", "syscalls.io_uring"))
        else:
            plan.allowed.pop(name, None)


def _families(spec: WorkloadSpec) -> list[str]:
    net = spec.network
    chosen: list[str] = []
    if net.unix:
        chosen.append("unix")
    if net.uses_ip:
        chosen.append("inet")
        if net.ipv6:
            chosen.append("inet6")
    if net.netlink:
        chosen.append("netlink")
    chosen.extend(f for f in net.families if f not in chosen)
    return chosen


def _socket_types(family: str, raw: bool) -> tuple[int, ...] | None:
    """Socket types allowed per family; None means the family alone is checked."""
    if family == "unix":
        return (k.SOCK_STREAM, k.SOCK_DGRAM, k.SOCK_SEQPACKET)
    if family in ("inet", "inet6"):
        return (k.SOCK_STREAM, k.SOCK_DGRAM, *((k.SOCK_RAW,) if raw else ()))
    if family == "netlink":
        return (k.SOCK_RAW, k.SOCK_DGRAM)
    return None


def _comment(origins: Iterable[Origin], note: str = "") -> str:
    text = ORIGIN_PREFIX + "; ".join(o.label() for o in sorted(origins))
    return f"{text} -- {note}" if note else text


def all_but(excluded: Iterable[int], bits: int = 32) -> list[tuple[int, int]]:
    """(mask, value) pairs whose masked-equality tests together match every ``bits``-bit
    number but ``excluded``: one filter cannot say "not A and not B" on one argument."""
    full = (1 << bits) - 1

    def cover(mask: int, value: int, left: list[int], bit: int) -> list[tuple[int, int]]:
        if not left:
            return [(mask, value)]
        if mask == full:
            return []
        out: list[tuple[int, int]] = []
        for one in (0, 1):
            side = [v for v in left if (v >> bit) & 1 == one]
            out += cover(mask | 1 << bit, value | one << bit, side, bit - 1)
        return out

    return cover(0, 0, sorted({v & full for v in excluded}), bits - 1)


_IOCTL_NOTE = "any request but TIOCSTI and TIOCLINUX (terminal input, console), 32 bits"
# socketcall sub-calls whose direct syscall has another name (x86 has no send/recv/accept)
SOCKETCALL_DIRECT = {"send": ("sendto",), "recv": ("recvfrom",), "accept": ("accept4", "accept")}


def _ioctl_rules(origins: set[Origin]) -> list[SyscallRule]:
    comment = _comment(origins, _IOCTL_NOTE)
    return [
        SyscallRule(
            ("ioctl",), Action.ALLOW, (ArgCond(1, Op.MASKED_EQ, mask, value),), comment=comment
        )
        for mask, value in all_but((k.TIOCSTI, k.TIOCLINUX))
    ]


def _multiplexer_rules(plan: _Plan, families_checked: bool) -> list[SyscallRule]:
    """x86's socketcall and ipc, allowed by their call number (argument 0) for exactly the
    sub-calls whose direct syscalls are allowed; their other arguments are in memory."""
    rules: list[SyscallRule] = []
    allowed = plan.allowed
    for number, sub in k.SOCKETCALL_CALLS.items():
        direct = [n for n in (SOCKETCALL_DIRECT.get(sub) or (sub,)) if n in allowed]
        if direct:
            note = f"SYS_{sub.upper()} ({number})"
            if sub in ("socket", "socketpair") and families_checked:
                note += ": address families and types cannot be checked here"
            origins = allowed[direct[0]]
            cond = ArgCond(0, Op.EQ, number)
            rules.append(
                SyscallRule(("socketcall",), Action.ALLOW, (cond,), comment=_comment(origins, note))
            )
    ipc = allowed.pop("ipc", None)
    for number, sub in k.IPC_CALLS.items():
        if ipc is not None and sub in allowed:
            cond = ArgCond(0, Op.MASKED_EQ, k.IPC_CALL_MASK, number)
            note = f"call {number} ({sub})"
            rules.append(SyscallRule(("ipc",), Action.ALLOW, (cond,), comment=_comment(ipc, note)))
    return rules


def _conditional_rules(spec: WorkloadSpec, plan: _Plan) -> list[SyscallRule]:
    rules: list[SyscallRule] = _multiplexer_rules(plan, "socket" in plan.allowed)
    granted = set(spec.capability_names)
    allowed = plan.allowed
    if "ioctl" in allowed:
        rules.extend(_ioctl_rules(allowed.pop("ioctl")))
    if "clone" in allowed and "SYS_ADMIN" not in granted:
        origins = allowed.pop("clone")
        rules.append(
            SyscallRule(
                ("clone",),
                Action.ALLOW,
                (ArgCond(0, Op.MASKED_EQ, k.CLONE_NAMESPACE_FLAGS, 0),),
                comment=_comment(origins, "no namespace flags (SYS_ADMIN not granted)"),
            )
        )
    if "socket" in allowed:
        origins = allowed.pop("socket")
        for family in _families(spec):
            number = k.ADDRESS_FAMILIES[family]
            types = _socket_types(family, spec.network.raw_sockets)
            fam = ArgCond(0, Op.EQ, number)
            note = f"AF_{family.upper()}"
            protocol: tuple[ArgCond, ...] = ()
            if family == "netlink":  # route queries only: no audit, no netfilter, no uevents
                protocol = (ArgCond(2, Op.EQ, k.NETLINK_ROUTE),)
                note += " protocol NETLINK_ROUTE"
            if types is None:
                rules.append(
                    SyscallRule(
                        ("socket",), Action.ALLOW, (fam, *protocol), comment=_comment(origins, note)
                    )
                )
                continue
            for sock_type in types:
                cond = ArgCond(1, Op.MASKED_EQ, k.SOCK_TYPE_MASK, sock_type)
                rules.append(
                    SyscallRule(
                        ("socket",),
                        Action.ALLOW,
                        (fam, cond, *protocol),
                        comment=_comment(origins, f"{note} type {sock_type}"),
                    )
                )
    if "socketpair" in allowed:
        origins = allowed.pop("socketpair")
        rules.append(
            SyscallRule(
                ("socketpair",),
                Action.ALLOW,
                (ArgCond(0, Op.EQ, k.ADDRESS_FAMILIES["unix"]),),
                comment=_comment(origins, "AF_UNIX only"),
            )
        )
    if "personality" in allowed:
        origins = allowed.pop("personality")
        for value in k.SAFE_PERSONALITIES:
            rules.append(
                SyscallRule(
                    ("personality",),
                    Action.ALLOW,
                    (ArgCond(0, Op.EQ, value),),
                    comment=_comment(origins, f"persona {value:#x}"),
                )
            )
    return rules


def _enosys_rule(
    spec: WorkloadSpec, plan: _Plan, sets: Mapping[str, SyscallSet]
) -> SyscallRule | None:
    granted = set(spec.capability_names)
    if "clone3" in plan.allowed and "SYS_ADMIN" not in granted:
        plan.allowed.pop("clone3")  # clone3 flags live in memory: no argument filter can see them
    names: list[str] = []
    multiplexed = {"socketcall"} if _socket_operations(plan) else set()
    for set_ in sets.values():
        if set_.kind == "enosys":
            names.extend(n for n in set_.syscalls if n not in {*plan.allowed, *multiplexed})
    present = frozenset().union(*(sc.names(a) for a in _arches(spec)))
    names = sorted({n for n in names if n in present})
    if not names:
        return None
    origins = {Origin("set", s.name) for s in sets.values() if s.kind == "enosys"}
    return SyscallRule(
        tuple(names),
        Action.ERRNO,
        errno=k.ENOSYS,
        comment=_comment(origins, "denied with ENOSYS so callers fall back"),
    )


def _socket_operations(plan: _Plan) -> bool:
    """Whether a socket operation is allowed (then x86's socketcall is filtered by call
    number for those operations, not answered ENOSYS)."""
    names = {n for sub in k.SOCKETCALL_CALLS.values() for n in SOCKETCALL_DIRECT.get(sub, (sub,))}
    return not names.isdisjoint(plan.allowed)


def _arches(spec: WorkloadSpec) -> list[Arch]:
    return [a for native in spec.architectures for a in (native, *SUB_ARCHES[native])]


def build_profile(spec: WorkloadSpec) -> Profile:
    """The seccomp profile for a spec."""
    sets = syscall_sets()
    plan = _plan(spec, sets, capability_facts())
    enosys = _enosys_rule(spec, plan, sets)
    conditional = _conditional_rules(spec, plan)
    present = frozenset().union(*(sc.names(a) for a in _arches(spec)))
    groups: dict[tuple[Origin, ...], list[str]] = {}
    pinned: list[SyscallRule] = []
    for name, origins in sorted(plan.allowed.items()):
        if name not in present:
            continue
        if name in plan.only_on:
            arch = plan.only_on[name]
            pinned.append(
                SyscallRule(
                    (name,),
                    Action.ALLOW,
                    comment=_comment(origins),
                    includes=Condition(arches=(_GO_ARCH[arch],)),
                )
            )
            continue
        groups.setdefault(tuple(sorted(origins)), []).append(name)
    rules = [
        SyscallRule(tuple(names), Action.ALLOW, comment=_comment(origins))
        for origins, names in sorted(groups.items())
    ]
    rules.extend(pinned)
    rules.extend(conditional)
    if enosys is not None:
        rules.append(enosys)
    arch_map = tuple(ArchGroup(native, SUB_ARCHES[native]) for native in spec.architectures)
    return Profile(Action.ERRNO, arch_map, tuple(rules), k.EPERM)


def build(spec: WorkloadSpec, host: object) -> Profile:
    """The layer's builder (the profile needs nothing from the host)."""
    return build_profile(spec)


def allowed_names(profile: Profile, arch: Arch, caps: frozenset[str] = frozenset()) -> set[str]:
    """Syscall names of ``arch`` the profile allows, with or without argument conditions."""
    group = profile.group_for(arch)
    if group is None:
        return set()
    present = sc.names(arch)
    out: set[str] = set()
    for rule in profile.rules:
        if rule.action is Action.ALLOW and rule.applies(group.native, caps):
            out.update(n for n in rule.names if n in present)
    if profile.default_action is Action.ALLOW:
        denied = {
            n
            for r in profile.rules
            if r.action is not Action.ALLOW
            for n in r.names
            if r.applies(group.native, caps) and not r.args
        }
        out = set(present) - denied
    return out
