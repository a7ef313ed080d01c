"""Every layer, once: what ``harden generate`` builds, renders and checks, and what
``harden verify`` checks again on a bundle as it is on disk.

In this order: a layer's check may read the files of a layer before it (the seccomp
rules with capability conditions read capabilities.json). Adding a layer is adding its
package (see :mod:`harden.layers.interface`) and its line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harden.layers.apparmor import build as apparmor_build
from harden.layers.apparmor import check as apparmor_check
from harden.layers.apparmor import render as apparmor_render
from harden.layers.caps import build as caps_build
from harden.layers.caps import check as caps_check
from harden.layers.caps import render as caps_render
from harden.layers.interface import Layer
from harden.layers.seccomp import build as seccomp_build
from harden.layers.seccomp import check as seccomp_check
from harden.layers.seccomp import render as seccomp_render
from harden.layers.selinux import build as selinux_build
from harden.layers.selinux import check as selinux_check
from harden.layers.selinux import render as selinux_render
from harden.layers.selinux.base import SelinuxBase, load_base
from harden.layers.userns import build as userns_build
from harden.layers.userns import check as userns_check
from harden.layers.userns import render as userns_render
from harden.layers.userns.model import Pool, default_pool


@dataclass(frozen=True)
class Host:
    """What the layers need besides the spec (each states its part as a Protocol): the
    SELinux base policy a module is built for and compiled with (loaded on first use),
    and the pool user namespace IDs are taken from."""

    selinux_base: Callable[[], SelinuxBase] = load_base
    pool: Pool = field(default_factory=default_pool)


LAYERS: dict[str, Layer[Any, Host]] = {
    "caps": Layer(caps_build.build, caps_render.files, caps_check.check, core=True),
    "seccomp": Layer(seccomp_build.build, seccomp_render.files, seccomp_check.check, core=True),
    "apparmor": Layer(apparmor_build.build, apparmor_render.files, apparmor_check.check),
    "selinux": Layer(selinux_build.build, selinux_render.files, selinux_check.check),
    "userns": Layer(userns_build.build, userns_render.files, userns_check.check),
}
