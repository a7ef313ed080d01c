"""Cross-layer checks: each finds one kind of contradiction between the layers of a bundle.

A check reads :class:`BundleLayers` and returns evidence lines (empty: no conflict). It
is skipped when a layer it compares is absent. The conditions need set arithmetic over
per-architecture syscall tables and concrete argument values, which the layer models
(the AppArmor profile's queries, the seccomp semantics) compute; so each check is a
small Python function with its metadata beside it, and every one has a fixture bundle
that trips it (tests/data/consistency/).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from harden.generate.reader import BundleLayers
from harden.kernel import constants as k
from harden.kernel.syscalls import Arch
from harden.layers.apparmor.model import ALL
from harden.layers.seccomp.build import SOCKETCALL_DIRECT, allowed_names
from harden.layers.seccomp.model import Action, Decision
from harden.layers.seccomp.semantics import Semantics
from harden.layers.selinux.cil import BlockFact
from harden.profile.catalog import capability_facts

ALLOW = Decision(Action.ALLOW)
_SOCK_TYPES = (k.SOCK_STREAM, k.SOCK_DGRAM, k.SOCK_RAW, k.SOCK_SEQPACKET)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    why: str
    run: Callable[[BundleLayers], list[str]]


def _semantics(layers: BundleLayers) -> Iterator[tuple[Arch, Semantics]]:
    profile, caps = layers.seccomp, layers.caps or frozenset()
    if profile is None:
        return
    for group in profile.arch_map:
        yield group.native, Semantics(profile, group, caps)


def seccomp_default_allow(layers: BundleLayers) -> list[str]:
    p = layers.seccomp
    if p is None or p.default_action not in (Action.ALLOW, Action.LOG):
        return []
    return [f"defaultAction is {p.default_action.value}: every syscall not listed is allowed"]


def seccomp_rule_is_default(layers: BundleLayers) -> list[str]:
    p = layers.seccomp
    if p is None:
        return []
    default = p.default_decision()
    return [
        f"rule {i} ({', '.join(r.names[:4])}{'...' if len(r.names) > 4 else ''}) returns "
        f"{default}, the same as the default action: runc drops it, it does nothing"
        for i, r in enumerate(p.rules)
        if r.action is not Action.ALLOW and r.decision(p.default_errno) == default
    ]


def socketcall_bypass(layers: BundleLayers) -> list[str]:
    """socketcall lets through a socket operation the profile does not allow directly (its
    call number is argument 0; the operation's own arguments are in memory). Filtering it
    by call number, as harden does, passes exactly the allowed operations; that
    SYS_SOCKET cannot be checked for families is a stated limit (harden explain)."""
    out = []
    for native, sem in _semantics(layers):
        if Arch.X86 not in sem.group.subs:
            continue
        bypassed = [
            f"{sub} ({number})"
            for number, sub in k.SOCKETCALL_CALLS.items()
            if sem.decide(Arch.X86, "socketcall", [number, 0, 0]) == ALLOW
            and not any(_allows(sem, direct) for direct in SOCKETCALL_DIRECT.get(sub, (sub,)))
        ]
        if bypassed:
            out.append(
                f"on x86 (in the {native} filter) socketcall passes {', '.join(bypassed)}, "
                "which the profile does not allow directly: its arguments are in memory, so "
                "the socket filter is bypassed"
            )
    return out


def _allows(sem: Semantics, name: str) -> bool:
    """Whether any rule of the profile allows ``name`` (with or without conditions)."""
    return any(r.action is Action.ALLOW for r in sem.by_name.get(name, []))


def seccomp_allows_io_uring(layers: BundleLayers) -> list[str]:
    out = []
    for native, sem in _semantics(layers):
        for arch in (native, *sem.group.subs):
            if sem.decide(arch, "io_uring_setup", [1, 0, 0]) == ALLOW:
                out.append(
                    f"io_uring_setup is allowed on {arch}: its ring operations (socket, openat, "
                    "unlinkat, symlinkat, ...) run without reaching the seccomp filter"
                )
                break
    return out


def capability_unusable(layers: BundleLayers) -> list[str]:
    if layers.seccomp is None or layers.caps is None:
        return []
    out = []
    for cap in sorted(layers.caps):
        needed = set(capability_facts()[cap].syscalls)
        for group in layers.seccomp.arch_map:
            from harden.kernel import syscalls as sc  # noqa: PLC0415 - table load is lazy

            present = needed & set(sc.names(group.native))
            allowed = allowed_names(layers.seccomp, group.native, layers.caps)
            if present and not present & allowed:
                out.append(
                    f"{cap} is granted but seccomp denies every syscall that uses it on "
                    f"{group.native}: {', '.join(sorted(present))}"
                )
    return out


def _selinux_caps(block: BlockFact) -> frozenset[str]:
    """Capabilities the module allows its own domain (capability/capability2 on self)."""
    return frozenset(
        perm.upper()
        for a in block.allows
        if a.target == "self" and a.cls in ("capability", "capability2")
        for perm in a.perms
    )


def _caps_vs(layer: str, granted: frozenset[str], allows: Callable[[str], bool]) -> list[str]:
    return [
        f"{cap} is granted (capabilities.json) but {layer} denies it: the workload cannot use it"
        for cap in sorted(granted)
        if not allows(cap)
    ]


def capability_denied_by_apparmor(layers: BundleLayers) -> list[str]:
    if layers.apparmor is None or layers.caps is None:
        return []
    return _caps_vs("AppArmor", layers.caps, layers.apparmor.allows_capability)


def apparmor_capability_not_granted(layers: BundleLayers) -> list[str]:
    aa, caps = layers.apparmor, layers.caps
    if aa is None or caps is None:
        return []
    allowed = aa.capability_names()
    if ALL in allowed:
        return ["AppArmor allows every capability (a bare `capability,` rule)"]
    extra = sorted(allowed - caps - aa.capability_names(deny=True))
    return (
        [f"AppArmor allows {', '.join(extra)}, which the whitelist does not grant"] if extra else []
    )


def capability_denied_by_selinux(layers: BundleLayers) -> list[str]:
    se = layers.selinux
    if se is None or layers.caps is None:
        return []
    granted = _selinux_caps(se)
    return _caps_vs(f"SELinux ({se.name})", layers.caps, lambda c: c in granted)


def selinux_capability_not_granted(layers: BundleLayers) -> list[str]:
    se, caps = layers.selinux, layers.caps
    if se is None or caps is None:
        return []
    extra = sorted(_selinux_caps(se) - caps)
    return (
        [f"the SELinux module allows {', '.join(extra)}, which the whitelist does not grant"]
        if extra
        else []
    )


def apparmor_mount_without_sys_admin(layers: BundleLayers) -> list[str]:
    aa, caps = layers.apparmor, layers.caps
    if aa is None or caps is None or not aa.allows_mount or "SYS_ADMIN" in caps:
        return []
    return [
        "AppArmor allows mount while SYS_ADMIN is dropped: a rule for a power the "
        "workload must not have (it only becomes live if SYS_ADMIN is ever added)"
    ]


def raw_sockets_without_net_raw(layers: BundleLayers) -> list[str]:
    if layers.caps is None or "NET_RAW" in layers.caps:
        return []
    out = []
    for native, sem in _semantics(layers):
        for fam in ("inet", "inet6", "packet"):
            if sem.decide(native, "socket", [k.ADDRESS_FAMILIES[fam], k.SOCK_RAW]) == ALLOW:
                out.append(f"seccomp allows {fam} raw sockets on {native} while NET_RAW is dropped")
    aa = layers.apparmor
    if aa is not None:
        for fam, typ in (("inet", "raw"), ("inet6", "raw"), ("packet", "")):
            if aa.allows_network(fam, typ) and (fam, typ) in aa.network_pairs() | {("", "")}:
                out.append(f"AppArmor allows network {fam} {typ} while NET_RAW is dropped".strip())
    return out


def family_denied_by_apparmor(layers: BundleLayers) -> list[str]:
    aa = layers.apparmor
    if aa is None:
        return []
    out = set()
    for native, sem in _semantics(layers):
        for fam, number in k.ADDRESS_FAMILIES.items():
            if not aa.allows_network(fam) and any(
                sem.decide(native, "socket", [number, t]) == ALLOW for t in _SOCK_TYPES
            ):
                out.add(f"seccomp allows AF_{fam.upper()} sockets but AppArmor denies the family")
    return sorted(out)


def namespaces_without_sys_admin(layers: BundleLayers) -> list[str]:
    if layers.caps is None or "SYS_ADMIN" in layers.caps:
        return []
    out = []
    for native, sem in _semantics(layers):
        for name, args in (
            ("unshare", [k.CLONE_NEWUSER]),
            ("setns", [0, k.CLONE_NEWNS]),
            ("clone", [k.CLONE_NEWUSER]),
            ("clone3", []),
        ):
            if sem.decide(native, name, args) == ALLOW:
                out.append(
                    f"seccomp allows {name} with namespace flags on {native} while SYS_ADMIN is "
                    "dropped: the workload can still create (user) namespaces"
                )
    return out


def _id_checks(layers: BundleLayers, kind: str) -> list[str]:
    maps = layers.uid_mappings if kind == "uid" else layers.gid_mappings
    if layers.spec is None or not maps:
        return []
    value = layers.spec.user.uid if kind == "uid" else layers.spec.user.gid
    if any(m.container <= value < m.container + m.size for m in maps):
        return []
    return [
        f"user {kind} {value} is outside the user namespace's {kind}Mappings: unmapped, "
        "the container cannot start as it"
    ]


def userns_user_unmapped(layers: BundleLayers) -> list[str]:
    return _id_checks(layers, "uid") + _id_checks(layers, "gid")


def userns_maps_host_root(layers: BundleLayers) -> list[str]:
    out = []
    for kind, maps in (("uid", layers.uid_mappings), ("gid", layers.gid_mappings)):
        for m in maps or ():
            if m.host <= 0 < m.host + m.size:
                out.append(f"{kind}Mappings maps container {kind} {m.container} onto host root (0)")
    return out


def _form_caps(layers: BundleLayers) -> Iterator[tuple[str, frozenset[str]]]:
    f = layers.forms
    docker = f.get("docker-run.txt")
    if isinstance(docker, str):
        yield "docker-run.txt", frozenset(re.findall(r"--cap-add=([A-Z_0-9]+)", docker))
    compose = f.get("compose.yaml")
    if isinstance(compose, dict):
        for service in (compose.get("services") or {}).values():
            if isinstance(service, dict):
                yield "compose.yaml", frozenset(service.get("cap_add") or ())
    k8s = f.get("k8s-container.yaml")
    if isinstance(k8s, dict):
        caps = (k8s.get("securityContext") or {}).get("capabilities") or {}
        yield "k8s-container.yaml", frozenset(caps.get("add") or ())
    oci = f.get("oci-config.json")
    if isinstance(oci, dict):
        bounding = ((oci.get("process") or {}).get("capabilities") or {}).get("bounding") or ()
        yield "oci-config.json", frozenset(str(c).removeprefix("CAP_") for c in bounding)


def forms_capabilities_drift(layers: BundleLayers) -> list[str]:
    if layers.caps is None:
        return []
    out = []
    for name, caps in _form_caps(layers):
        if caps != layers.caps:
            more, fewer = sorted(caps - layers.caps), sorted(layers.caps - caps)
            out.append(
                f"{name} grants {more or 'nothing more'} and lacks {fewer or 'nothing'} "
                "compared with capabilities.json"
            )
    return out


def _refs(layers: BundleLayers) -> Iterator[tuple[str, str, str]]:
    """(form, layer, name) for every reference a form makes to an LSM profile."""
    docker = layers.forms.get("docker-run.txt")
    if isinstance(docker, str):
        for m in re.finditer(r"--security-opt=apparmor=(\S+)", docker):
            yield "docker-run.txt", "apparmor", m.group(1)
        for m in re.finditer(r"--security-opt=label=type:(\S+)", docker):
            yield "docker-run.txt", "selinux", m.group(1)
    for form in ("k8s-container.yaml", "k8s-pod.yaml"):
        doc = layers.forms.get(form)
        contexts = []
        if isinstance(doc, dict):
            contexts.append(doc.get("securityContext") or {})
            spec = doc.get("spec") or {}
            contexts.append(spec.get("securityContext") or {})
            contexts += [
                (c or {}).get("securityContext") or {} for c in spec.get("containers") or ()
            ]
        for ctx in contexts:
            aa = (ctx.get("appArmorProfile") or {}).get("localhostProfile")
            if aa:
                yield form, "apparmor", str(aa)
            se = (ctx.get("seLinuxOptions") or {}).get("type")
            if se:
                yield form, "selinux", str(se)


def forms_profile_reference(layers: BundleLayers) -> list[str]:
    expected = {}
    if layers.apparmor is not None:
        expected["apparmor"] = layers.apparmor.name
    if layers.selinux is not None:
        expected["selinux"] = f"{layers.selinux.name}.process"
    return sorted(
        {
            f"{form} refers to {layer} {name!r}; the bundle's {layer} is {expected[layer]!r}"
            for form, layer, name in _refs(layers)
            if layer in expected and name != expected[layer]
        }
    )


CHECKS: dict[str, Check] = {
    c.id: c
    for c in (
        Check(
            "seccomp-default-allow",
            "seccomp allows by default",
            "an allow-list must deny what it does not list",
            seccomp_default_allow,
        ),
        Check(
            "seccomp-rule-is-default",
            "a seccomp rule repeats the default action",
            "runc drops rules whose action equals the default; the rule is dead",
            seccomp_rule_is_default,
        ),
        Check(
            "socketcall-bypass",
            "socket filters bypassed through socketcall",
            "32-bit x86 reaches socket() through socketcall, whose arguments no filter sees",
            socketcall_bypass,
        ),
        Check(
            "seccomp-allows-io-uring",
            "seccomp allows io_uring",
            "io_uring operations bypass seccomp: the allow-list no longer bounds the syscalls "
            "the workload can make (set syscalls.io_uring only when that is accepted)",
            seccomp_allows_io_uring,
        ),
        Check(
            "capability-unusable",
            "a granted capability's syscalls are all denied",
            "the grant is useless, or the profile breaks the workload",
            capability_unusable,
        ),
        Check(
            "capability-denied-by-apparmor",
            "AppArmor denies a granted capability",
            "the layers disagree; the workload fails where it uses the capability",
            capability_denied_by_apparmor,
        ),
        Check(
            "apparmor-capability-not-granted",
            "AppArmor allows capabilities not granted",
            "AppArmor should allow exactly the whitelist",
            apparmor_capability_not_granted,
        ),
        Check(
            "capability-denied-by-selinux",
            "SELinux denies a granted capability",
            "the layers disagree; the workload fails where it uses the capability",
            capability_denied_by_selinux,
        ),
        Check(
            "selinux-capability-not-granted",
            "SELinux allows capabilities not granted",
            "the SELinux module should allow exactly the whitelist",
            selinux_capability_not_granted,
        ),
        Check(
            "apparmor-mount-without-sys-admin",
            "AppArmor allows mount without SYS_ADMIN",
            "mount rules only make sense with SYS_ADMIN; without it they are latent risk",
            apparmor_mount_without_sys_admin,
        ),
        Check(
            "raw-sockets-without-net-raw",
            "raw sockets allowed without NET_RAW",
            "seccomp or AppArmor allow raw/packet sockets the capability set forbids",
            raw_sockets_without_net_raw,
        ),
        Check(
            "family-denied-by-apparmor",
            "seccomp allows a socket family AppArmor denies",
            "the layers disagree; sockets of that family fail at AppArmor",
            family_denied_by_apparmor,
        ),
        Check(
            "namespaces-without-sys-admin",
            "namespace creation allowed without SYS_ADMIN",
            "unprivileged user namespaces are kernel attack surface the workload does not need",
            namespaces_without_sys_admin,
        ),
        Check(
            "userns-user-unmapped",
            "the workload's user is outside the user namespace",
            "an unmapped uid/gid cannot run; the container fails to start",
            userns_user_unmapped,
        ),
        Check(
            "userns-maps-host-root",
            "the user namespace maps onto host root",
            "container IDs mapped to host ID 0 are host root",
            userns_maps_host_root,
        ),
        Check(
            "forms-capabilities-drift",
            "a deployable form grants other capabilities",
            "docker/compose/Kubernetes/OCI forms must apply the whitelist",
            forms_capabilities_drift,
        ),
        Check(
            "forms-profile-reference",
            "a form refers to another AppArmor/SELinux profile",
            "the form would run the workload under a profile this bundle does not hold",
            forms_profile_reference,
        ),
    )
}


@dataclass(frozen=True)
class Conflict:
    check: Check
    evidence: str


def run_checks(layers: BundleLayers) -> list[Conflict]:
    """Every conflict of every check, in registry order."""
    return [Conflict(c, e) for c in CHECKS.values() for e in c.run(layers)]
