"""Comparing two seccomp profiles per architecture, for one capability set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harden.kernel.syscalls import Arch
from harden.layers.seccomp.build import allowed_names
from harden.layers.seccomp.builtin import resolve
from harden.layers.seccomp.model import Action, Profile


@dataclass(frozen=True)
class ArchDiff:
    arch: Arch
    count_a: int
    count_b: int
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    conditional_a: tuple[str, ...]  # allowed in A only when arguments match
    conditional_b: tuple[str, ...]

    @property
    def common(self) -> int:
        return self.count_a - len(self.only_a)


@dataclass(frozen=True)
class ProfileDiff:
    """Two profiles, as the user named them, compared per architecture."""

    label_a: str
    label_b: str
    arches: tuple[ArchDiff, ...]


def conditional_names(profile: Profile, arch: Arch, caps: frozenset[str]) -> set[str]:
    group = profile.group_for(arch)
    if group is None:
        return set()
    unconditional = {
        n
        for r in profile.rules
        if r.action is Action.ALLOW and not r.args and r.applies(group.native, caps)
        for n in r.names
    }
    conditional = {
        n
        for r in profile.rules
        if r.action is Action.ALLOW and r.args and r.applies(group.native, caps)
        for n in r.names
    }
    return (conditional - unconditional) & allowed_names(profile, arch, caps)


def diff_profiles(
    a: Profile, b: Profile, caps: frozenset[str], arches: tuple[Arch, ...] | None = None
) -> list[ArchDiff]:
    """Per architecture present in either profile (or those asked for)."""
    chosen = arches or tuple(x for x in Arch if x in a.arches() or x in b.arches())
    out = []
    for arch in chosen:
        in_a = allowed_names(a, arch, caps)
        in_b = allowed_names(b, arch, caps)
        out.append(
            ArchDiff(
                arch,
                len(in_a),
                len(in_b),
                tuple(sorted(in_a - in_b)),
                tuple(sorted(in_b - in_a)),
                tuple(sorted(conditional_names(a, arch, caps))),
                tuple(sorted(conditional_names(b, arch, caps))),
            )
        )
    return out


def compare(
    profile_a: str,
    profile_b: str,
    caps: frozenset[str],
    arches: tuple[Arch, ...] | None = None,
    resolver: Callable[[str], tuple[str, Profile]] = resolve,
) -> ProfileDiff:
    """Each profile from a file, a bundle directory or a built-in name (through
    ``resolver``: the CLI's also asks the running engine), then the diff."""
    label_a, a = resolver(profile_a)
    label_b, b = resolver(profile_b)
    return ProfileDiff(label_a, label_b, tuple(diff_profiles(a, b, caps, arches)))
