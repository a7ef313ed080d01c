"""The module in the two shapes security-profiles-operator takes.

- ``RawSelinuxProfile``: SPO wraps ``spec.policy`` in a block named after the object,
  so the policy is the *body* of harden's block with every inherited harden block
  expanded in place: self-contained, nothing else to install on the nodes.
- ``SelinuxProfile``: SPO's own allow map on top of a system template (``container``
  from container-selinux). The map holds the workload's own rules and the socket
  rules of the network blocks it inherits; file and process basics come from the
  template, which is why those blocks are left out.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from harden.layers.selinux.cil import Node, parse
from harden.layers.selinux.model import CilModule
from harden.layers.selinux.render import allow_text, comment
from harden.profile.lsmdata import selinux_blocks

# The bundle file of SPO's RawSelinuxProfile, whose policy is compiled with the module.
SPO_RAW_FILE = "spo-selinux-raw.yaml"
SPO_SELF = "@self"
# Under SPO the engine labels the workload's files container_file_t (container-selinux),
# not harden's <block>.content type.
SPO_FILE_TYPE = "container_file_t"
# Blocks whose rules SPO's `container` template already covers (process, files).
TEMPLATE_BLOCKS = frozenset({"harden_container", "harden_exec", "harden_write"})


def serialize(node: Node) -> str:
    if isinstance(node, str):
        return node
    return "(" + " ".join(serialize(n) for n in node) + ")"


@functools.cache
def _block_bodies() -> dict[str, tuple[Node, ...]]:
    bodies: dict[str, tuple[Node, ...]] = {}
    for node in parse(selinux_blocks().text):
        if isinstance(node, list) and len(node) > 1 and node[0] == "block":
            body = tuple(
                n for n in node[2:] if not (isinstance(n, list) and n and n[0] == "blockabstract")
            )
            bodies[str(node[1])] = body
    return bodies


def _expanded(module: CilModule) -> Iterator[str]:
    bodies = _block_bodies()
    for inherit in module.inherits:
        yield f"; {comment(inherit.reason)} (harden block {inherit.block}, expanded)"
        yield from (serialize(n) for n in bodies[inherit.block])
    for allow in module.allows:
        yield f"; {comment(allow.reason)}"
        yield allow_text(allow)


def expanded_body(module: CilModule) -> str:
    """The block body with inherited harden blocks in place (for RawSelinuxProfile)."""
    return "\n".join(_expanded(module)) + "\n"


def spo_allow_map(module: CilModule) -> dict[str, dict[str, list[str]]]:
    """SPO's ``spec.allow``: label -> class -> permissions, sorted."""
    out: dict[str, dict[str, set[str]]] = {}

    def add(target: str, cls: str, perms: tuple[str, ...]) -> None:
        label = {"self": SPO_SELF, "content": SPO_FILE_TYPE}.get(target, target)
        out.setdefault(label, {}).setdefault(cls, set()).update(perms)

    bodies = _block_bodies()
    for inherit in module.inherits:
        if inherit.block in TEMPLATE_BLOCKS:
            continue
        for node in bodies[inherit.block]:
            if isinstance(node, list) and node and node[0] == "allow" and len(node) == 4:
                cls_perms = node[3]
                assert isinstance(cls_perms, list)
                assert isinstance(cls_perms[1], list)
                perms = tuple(str(p) for p in cls_perms[1])
                add(str(node[2]), str(cls_perms[0]), perms)
    for allow in module.allows:
        add(allow.target, allow.cls, allow.perms)
    return {
        label: {cls: sorted(perms) for cls, perms in sorted(classes.items())}
        for label, classes in sorted(out.items())
    }
