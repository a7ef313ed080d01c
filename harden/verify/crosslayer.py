"""Cross-layer checks: each finds one kind of contradiction between the layers of a bundle.

A check reads :class:`BundleFacts` and returns evidence lines (empty: no finding). It
is skipped when a layer it compares is absent. The conditions need set arithmetic over
per-architecture syscall tables and concrete argument values, which the facts layer
and the seccomp semantics compute; so each check is a small Python function with its
metadata beside it, and every one has a fixture bundle that trips it
(tests/data/consistency/).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from harden.generate.facts import BundleFacts
from harden.kernel import constants as k
from harden.kernel.syscalls import Arch
from harden.layers.seccomp.build import allowed_names
from harden.layers.seccomp.model import Action, Decision
from harden.layers.seccomp.semantics import Semantics
from harden.profile.catalog import capability_facts

ALLOW = Decision(Action.ALLOW)
_SOCK_TYPES = (k.SOCK_STREAM, k.SOCK_DGRAM, k.SOCK_RAW, k.SOCK_SEQPACKET)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    why: str
    run: Callable[[BundleFacts], list[str]]


def _semantics(facts: BundleFacts) -> Iterator[tuple[Arch, Semantics]]:
    profile, caps = facts.seccomp, facts.caps or frozenset()
    if profile is None:
        return
    for group in profile.arch_map:
        yield group.native, Semantics(profile, group, caps)


def seccomp_default_allow(facts: BundleFacts) -> list[str]:
    p = facts.seccomp
    if p is None or p.default_action not in (Action.ALLOW, Action.LOG):
        return []
    return [f"defaultAction is {p.default_action.value}: every syscall not listed is allowed"]


def seccomp_rule_is_default(facts: BundleFacts) -> list[str]:
    p = facts.seccomp
    if p is None:
        return []
    default = p.default_decision()
    return [
        f"rule {i} ({', '.join(r.names[:4])}{'...' if len(r.names) > 4 else ''}) returns "
        f"{default}, the same as the default action: runc drops it, it does nothing"
        for i, r in enumerate(p.rules)
        if r.action is not Action.ALLOW and r.decision(p.default_errno) == default
    ]


def socketcall_bypass(facts: BundleFacts) -> list[str]:
    out = []
    for native, sem in _semantics(facts):
        if Arch.X86 not in sem.group.subs or not sem.conditions_for("socket"):
            continue
        if sem.decide(Arch.X86, "socketcall", [1, 0, 0]) == ALLOW:
            out.append(
                f"socket(2) is filtered by family/type, but on x86 (in the {native} filter) "
                "socketcall is allowed: its arguments are in memory, so the filter is bypassed"
            )
    return out


def seccomp_allows_io_uring(facts: BundleFacts) -> list[str]:
    out = []
    for native, sem in _semantics(facts):
        for arch in (native, *sem.group.subs):
            if sem.decide(arch, "io_uring_setup", [1, 0, 0]) == ALLOW:
                out.append(
                    f"io_uring_setup is allowed on {arch}: its ring operations (socket, openat, "
                    "unlinkat, symlinkat, ...) run without reaching the seccomp filter"
                )
                break
    return out


def capability_unusable(facts: BundleFacts) -> list[str]:
    if facts.seccomp is None or facts.caps is None:
        return []
    out = []
    for cap in sorted(facts.caps):
        needed = set(capability_facts()[cap].syscalls)
        for group in facts.seccomp.arch_map:
            from harden.kernel import syscalls as sc  # noqa: PLC0415 - table load is lazy

            present = needed & set(sc.names(group.native))
            allowed = allowed_names(facts.seccomp, group.native, facts.caps)
            if present and not present & allowed:
                out.append(
                    f"{cap} is granted but seccomp denies every syscall that uses it on "
                    f"{group.native}: {', '.join(sorted(present))}"
                )
    return out


def _caps_vs(layer: str, granted: frozenset[str], allows: Callable[[str], bool]) -> list[str]:
    return [
        f"{cap} is granted (capabilities.json) but {layer} denies it: the workload cannot use it"
        for cap in sorted(granted)
        if not allows(cap)
    ]


def capability_denied_by_apparmor(facts: BundleFacts) -> list[str]:
    if facts.apparmor is None or facts.caps is None:
        return []
    return _caps_vs("AppArmor", facts.caps, facts.apparmor.capability)


def apparmor_capability_not_granted(facts: BundleFacts) -> list[str]:
    aa, caps = facts.apparmor, facts.caps
    if aa is None or caps is None:
        return []
    if "ALL" in aa.caps_allowed:
        return ["AppArmor allows every capability (a bare `capability,` rule)"]
    extra = sorted(aa.caps_allowed - caps - aa.caps_denied)
    return (
        [f"AppArmor allows {', '.join(extra)}, which the whitelist does not grant"] if extra else []
    )


def capability_denied_by_selinux(facts: BundleFacts) -> list[str]:
    se = facts.selinux
    if se is None or facts.caps is None:
        return []
    return _caps_vs(f"SELinux ({se.block})", facts.caps, lambda c: c in se.caps)


def selinux_capability_not_granted(facts: BundleFacts) -> list[str]:
    se, caps = facts.selinux, facts.caps
    if se is None or caps is None:
        return []
    extra = sorted(se.caps - caps)
    return (
        [f"the SELinux module allows {', '.join(extra)}, which the whitelist does not grant"]
        if extra
        else []
    )


def apparmor_mount_without_sys_admin(facts: BundleFacts) -> list[str]:
    aa, caps = facts.apparmor, facts.caps
    if aa is None or caps is None or not aa.mount_allowed or "SYS_ADMIN" in caps:
        return []
    return [
        "AppArmor allows mount while SYS_ADMIN is dropped: a rule for a power the "
        "workload must not have (it only becomes live if SYS_ADMIN is ever added)"
    ]


def raw_sockets_without_net_raw(facts: BundleFacts) -> list[str]:
    if facts.caps is None or "NET_RAW" in facts.caps:
        return []
    out = []
    for native, sem in _semantics(facts):
        for fam in ("inet", "inet6", "packet"):
            if sem.decide(native, "socket", [k.ADDRESS_FAMILIES[fam], k.SOCK_RAW]) == ALLOW:
                out.append(f"seccomp allows {fam} raw sockets on {native} while NET_RAW is dropped")
    aa = facts.apparmor
    if aa is not None:
        for fam, typ in (("inet", "raw"), ("inet6", "raw"), ("packet", "")):
            if aa.network(fam, typ) and (fam, typ) in aa.net_allow | {("", "")}:
                out.append(f"AppArmor allows network {fam} {typ} while NET_RAW is dropped".strip())
    return out


def family_denied_by_apparmor(facts: BundleFacts) -> list[str]:
    aa = facts.apparmor
    if aa is None:
        return []
    out = set()
    for native, sem in _semantics(facts):
        for fam, number in k.ADDRESS_FAMILIES.items():
            if not aa.network(fam) and any(
                sem.decide(native, "socket", [number, t]) == ALLOW for t in _SOCK_TYPES
            ):
                out.add(f"seccomp allows AF_{fam.upper()} sockets but AppArmor denies the family")
    return sorted(out)


def namespaces_without_sys_admin(facts: BundleFacts) -> list[str]:
    if facts.caps is None or "SYS_ADMIN" in facts.caps:
        return []
    out = []
    for native, sem in _semantics(facts):
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


def _id_checks(facts: BundleFacts, kind: str) -> list[str]:
    maps = facts.uid_mappings if kind == "uid" else facts.gid_mappings
    if facts.spec is None or not maps:
        return []
    value = facts.spec.user.uid if kind == "uid" else facts.spec.user.gid
    if any(m.container <= value < m.container + m.size for m in maps):
        return []
    return [
        f"user {kind} {value} is outside the user namespace's {kind}Mappings: unmapped, "
        "the container cannot start as it"
    ]


def userns_user_unmapped(facts: BundleFacts) -> list[str]:
    return _id_checks(facts, "uid") + _id_checks(facts, "gid")


def userns_maps_host_root(facts: BundleFacts) -> list[str]:
    out = []
    for kind, maps in (("uid", facts.uid_mappings), ("gid", facts.gid_mappings)):
        for m in maps or ():
            if m.host <= 0 < m.host + m.size:
                out.append(f"{kind}Mappings maps container {kind} {m.container} onto host root (0)")
    return out


def _form_caps(facts: BundleFacts) -> Iterator[tuple[str, frozenset[str]]]:
    f = facts.forms
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


def forms_capabilities_drift(facts: BundleFacts) -> list[str]:
    if facts.caps is None:
        return []
    out = []
    for name, caps in _form_caps(facts):
        if caps != facts.caps:
            more, fewer = sorted(caps - facts.caps), sorted(facts.caps - caps)
            out.append(
                f"{name} grants {more or 'nothing more'} and lacks {fewer or 'nothing'} "
                "compared with capabilities.json"
            )
    return out


def _refs(facts: BundleFacts) -> Iterator[tuple[str, str, str]]:
    """(form, layer, name) for every reference a form makes to an LSM profile."""
    docker = facts.forms.get("docker-run.txt")
    if isinstance(docker, str):
        for m in re.finditer(r"--security-opt=apparmor=(\S+)", docker):
            yield "docker-run.txt", "apparmor", m.group(1)
        for m in re.finditer(r"--security-opt=label=type:(\S+)", docker):
            yield "docker-run.txt", "selinux", m.group(1)
    for form in ("k8s-container.yaml", "k8s-pod.yaml"):
        doc = facts.forms.get(form)
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


def forms_profile_reference(facts: BundleFacts) -> list[str]:
    expected = {}
    if facts.apparmor is not None:
        expected["apparmor"] = facts.apparmor.name
    if facts.selinux is not None:
        expected["selinux"] = f"{facts.selinux.block}.process"
    return sorted(
        {
            f"{form} refers to {layer} {name!r}; the bundle's {layer} is {expected[layer]!r}"
            for form, layer, name in _refs(facts)
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
class Finding:
    check: Check
    evidence: str


def run_checks(facts: BundleFacts) -> list[Finding]:
    """Every finding of every check, in registry order."""
    return [Finding(c, e) for c in CHECKS.values() for e in c.run(facts)]
