"""Building the AppArmor profile of a workload spec (pure: the spec and cached data in).

Files: harden's reusable blocks (``profiles/apparmor/blocks.yaml``) plus the spec's
read, write, exec, tmpfs and device paths. Network: the families and socket types the
spec's network section needs; ``alg``, ``packet`` and raw sockets are denied unless
asked for. Capabilities: exactly the whitelist. Signals and ptrace: only within the
profile (and signals from the engine). Mount, umount and pivot_root: denied unless
SYS_ADMIN is granted. The engine-default protections of /proc and /sys always apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from harden.layers.apparmor.model import (
    AAPath,
    AppArmorProfile,
    CapabilityRule,
    FileRule,
    MountRule,
    NetworkRule,
    PathKind,
    PeerRule,
)
from harden.layers.apparmor.render import PathProblem, check_spec_path
from harden.layers.caps.build import build_capabilities
from harden.layers.caps.model import CapabilityPlan
from harden.layers.interface import Unexpressible, layer_name
from harden.profile.lsmdata import PatternRule, apparmor_data
from harden.profile.spec import WorkloadSpec
from harden.profile.triggers import triggers

LAYER = "AppArmor"
ENGINE_PEERS = ("unconfined", "runc", "crun")
_DEVICE_PERMS = {"r": "r", "w": "w", "m": ""}


def build_apparmor(spec: WorkloadSpec, caps: CapabilityPlan) -> AppArmorProfile:
    """The AppArmor profile for ``spec`` with the capability whitelist ``caps``."""
    name = layer_name(spec)
    data = apparmor_data()
    spec_rules = list(_spec_files(spec))
    _refuse_protected(spec_rules, data.protect)
    active = triggers(spec)
    block_rules = [
        _pattern_rule(rule)
        for block in data.blocks
        if active.intersection(block.implied_by) or set(block.sets) & set(spec.syscalls.sets)
        for rule in block.files
    ]
    return AppArmorProfile(
        name=name,
        description=f"{spec.name}: {spec.description}" if spec.description else spec.name,
        capabilities=tuple(CapabilityRule(c, caps.reasons.get(c, "granted")) for c in caps.keep),
        network=tuple(_network(spec)),
        peers=tuple(_peers(name, "SYS_PTRACE" in caps.keep)),
        mounts=tuple(_mounts(caps)),
        files=tuple(_dedupe([*block_rules, *(r for _f, r in spec_rules)])),
        protections=tuple(
            FileRule(AAPath(p.path, PathKind.PATTERN), p.perms, p.reason, deny=True)
            for p in data.protect
        ),
        notes=_notes(spec),
    )


def build(spec: WorkloadSpec, host: object) -> AppArmorProfile:
    """The layer's builder: the profile for the spec's own whitelist."""
    return build_apparmor(spec, build_capabilities(spec))


def _notes(spec: WorkloadSpec) -> tuple[str, ...]:
    notes = [
        "Checked with apparmor_parser (parsed and compiled, not loaded) before it was written."
    ]
    if not spec.files.exec:
        notes.append("files.exec is empty: the workload cannot start other programs.")
    return tuple(notes)


def _pattern_rule(rule: PatternRule) -> FileRule:
    return FileRule(AAPath(rule.path, PathKind.PATTERN), rule.perms, rule.reason, owner=rule.owner)


def _spec_path(path: str, field: str) -> AAPath:
    try:
        check_spec_path(path)
    except PathProblem as exc:
        raise Unexpressible(LAYER, field, str(exc)) from None
    return AAPath(path)


def _with_dir(path: str, field: str, perms: str, reason: str) -> Iterator[tuple[str, FileRule]]:
    """The rule for ``path`` and, for ``DIR/**``, a read rule for ``DIR/`` itself."""
    yield field, FileRule(_spec_path(path, field), perms, reason)
    if path.endswith("/**") and "*" not in path[:-3] and len(path) > 3:
        yield field, FileRule(_spec_path(path[:-2], field), "r", f"{reason} (the directory)")


def _spec_files(spec: WorkloadSpec) -> Iterator[tuple[str, FileRule]]:
    files = spec.files
    for i, path in enumerate(files.read):
        yield from _with_dir(path, f"files.read[{i}]", "r", "spec: files.read")
    for i, path in enumerate(files.write):
        yield from _with_dir(path, f"files.write[{i}]", "rwk", "spec: files.write")
    for i, path in enumerate(files.exec):
        yield (
            f"files.exec[{i}]",
            FileRule(
                _spec_path(path, f"files.exec[{i}]"),
                "mrix",
                "spec: files.exec (runs in this profile)",
            ),
        )
    for i, path in enumerate(files.tmpfs):
        field = f"files.tmpfs[{i}]"
        base = path.rstrip("/") or "/"
        yield field, FileRule(_spec_path(base.rstrip("/") + "/", field), "r", "spec: tmpfs mount")
        yield (
            field,
            FileRule(
                _spec_path(base.rstrip("/") + "/**", field), "rwk", "spec: tmpfs scratch space"
            ),
        )
    for i, device in enumerate(spec.devices):
        perms = "".join(_DEVICE_PERMS[ch] for ch in device.access)
        if perms:
            yield (
                f"devices[{i}]",
                FileRule(_spec_path(device.path, f"devices[{i}].path"), perms, "spec: devices"),
            )


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for one of harden's AppArmor patterns ({a,b}, [..], *, **)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "{":
            out.append("(?:")
        elif ch == "}":
            out.append(")")
        elif ch == ",":
            out.append("|")
        elif ch == "[":
            end = pattern.index("]", i)
            out.append(pattern[i : end + 1])
            i = end + 1
            continue
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out))


def _sample(path: str) -> str:
    """A concrete path a spec glob matches (``**`` and ``*`` stand for some names)."""
    return path.replace("**", "x/x").replace("*", "x")


def _refuse_protected(
    rules: Iterable[tuple[str, FileRule]], protect: Iterable[PatternRule]
) -> None:
    compiled = [(p, _glob_regex(p.path)) for p in protect]
    for field, rule in rules:
        sample = _sample(rule.path.text)
        for prot, regex in compiled:
            overlap = set(rule.perms) & set(prot.perms)
            if overlap and (regex.fullmatch(sample) or regex.fullmatch(sample.rstrip("/"))):
                raise Unexpressible(
                    LAYER,
                    field,
                    f"{rule.path.text} is always denied ({prot.path} {prot.perms}: {prot.reason})",
                    hint="containers must not write kernel interfaces; drop the path",
                )


def _dedupe(rules: Iterable[FileRule]) -> Iterator[FileRule]:
    seen: set[tuple[AAPath, str, bool]] = set()
    for rule in rules:
        key = (rule.path, rule.perms, rule.owner)
        if key not in seen:
            seen.add(key)
            yield rule


def _ip_families(spec: WorkloadSpec) -> tuple[str, ...]:
    return ("inet", "inet6") if spec.network.ipv6 else ("inet",)


def _network(spec: WorkloadSpec) -> Iterator[NetworkRule]:
    net = spec.network
    protocols = {p.protocol for p in net.listen} | {o.protocol for o in net.outbound}
    tcp = "tcp" in protocols
    udp = any(p.protocol == "udp" for p in net.listen) or bool(net.outbound)
    for family in _ip_families(spec) if net.uses_ip else ():
        if tcp:
            yield NetworkRule(family, "stream", "spec: TCP in network.listen/outbound")
        if udp:
            yield NetworkRule(family, "dgram", "spec: UDP, or DNS lookups for network.outbound")
    for family in _ip_families(spec) if net.raw_sockets else ():
        yield NetworkRule(family, "raw", "spec: network.raw_sockets (NET_RAW granted)")
    if net.unix:
        yield NetworkRule("unix", "", "spec: network.unix")
    if net.netlink:
        yield NetworkRule("netlink", "raw", "spec: network.netlink (route queries)")
        yield NetworkRule("netlink", "dgram", "spec: network.netlink (route queries)")
    for family in net.families:
        yield NetworkRule(family, "", "spec: network.families")
    for family in ("alg", "packet"):
        if family not in net.families:
            yield NetworkRule(family, "", f"AF_{family.upper()} only when asked for", deny=True)
    if not net.raw_sockets:
        for family in ("inet", "inet6"):
            yield NetworkRule(family, "raw", "raw sockets only with network.raw_sockets", deny=True)


def _peers(name: str, ptrace: bool) -> Iterator[PeerRule]:
    yield PeerRule("signal", ("send", "receive"), name, "processes of this workload")
    for peer in ENGINE_PEERS:
        yield PeerRule("signal", ("receive",), peer, "stop and kill from the engine and the host")
    access = ("read", "readby", "trace", "tracedby") if ptrace else ("read", "readby")
    why = "SYS_PTRACE granted: trace" if ptrace else "read"
    yield PeerRule("ptrace", access, name, f"{why} processes of this workload only")


def _mounts(caps: CapabilityPlan) -> Iterator[MountRule]:
    if "SYS_ADMIN" in caps.keep:
        reason = f"SYS_ADMIN granted: {caps.reasons.get('SYS_ADMIN', '')}"
        yield MountRule("mount", reason, deny=False)
        yield MountRule("umount", reason, deny=False)
    else:
        yield MountRule("mount", "mounting needs SYS_ADMIN, which is not granted")
        yield MountRule("umount", "unmounting needs SYS_ADMIN, which is not granted")
    yield MountRule("pivot_root", "a workload never changes its root")
