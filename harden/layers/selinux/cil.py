"""Reading CIL: a small s-expression reader and the facts harden needs from a module.

Used on harden's own block file (to know what each block grants) and on hand-edited
workload modules (consistency checks). It reads structure, not meaning: secilc is the
judge of whether a module is valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

Node = str | list["Node"]


class CilSyntaxError(ValueError):
    pass


def _tokens(text: str) -> Iterator[str]:
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in "()":
            yield ch
            i += 1
        elif ch.isspace():
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise CilSyntaxError("unterminated string")
            yield text[i : end + 1]
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '();"':
                i += 1
            yield text[start:i]


def parse(text: str) -> list[Node]:
    """The top-level expressions of a CIL text."""
    stack: list[list[Node]] = [[]]
    for tok in _tokens(text):
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) == 1:
                raise CilSyntaxError("unbalanced ')'")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    if len(stack) != 1:
        raise CilSyntaxError("unbalanced '('")
    return stack[0]


@dataclass(frozen=True, order=True)
class AllowFact:
    """``(allow SOURCE TARGET (CLASS (PERMS)))`` inside a block; ``optional`` marks rules
    that apply only where the names they use exist."""

    block: str
    source: str
    target: str
    cls: str
    perms: tuple[str, ...]
    optional: bool = False


@dataclass(frozen=True)
class BlockFact:
    name: str
    abstract: bool
    inherits: tuple[str, ...]
    allows: tuple[AllowFact, ...]


def _allow(block: str, node: list[Node], optional: bool) -> AllowFact | None:
    if len(node) != 4 or not all(isinstance(x, str) for x in node[:3]):
        return None
    cls_perms = node[3]
    if not (isinstance(cls_perms, list) and len(cls_perms) == 2):
        return None
    cls, perms = cls_perms
    if not isinstance(cls, str) or not isinstance(perms, list):
        return None
    names = tuple(p for p in perms if isinstance(p, str))
    return AllowFact(block, str(node[1]), str(node[2]), cls, names, optional)


def _walk(block: str, body: list[Node], optional: bool) -> Iterator[Node | AllowFact]:
    for node in body:
        if not isinstance(node, list) or not node:
            continue
        if node[0] == "optional":
            yield from _walk(block, node[2:], True)
        elif node[0] == "allow":
            fact = _allow(block, node, optional)
            if fact is not None:
                yield fact
        else:
            yield node


def blocks(text: str) -> tuple[BlockFact, ...]:
    """Every top-level block of a CIL text with its inherits and allow rules."""
    out = []
    for node in parse(text):
        if not (isinstance(node, list) and len(node) >= 2 and node[0] == "block"):
            continue
        name = str(node[1])
        items = list(_walk(name, node[2:], False))
        allows = tuple(i for i in items if isinstance(i, AllowFact))
        stmts = [i for i in items if isinstance(i, list)]
        inherits = tuple(str(s[1]) for s in stmts if s[0] == "blockinherit" and len(s) > 1)
        abstract = any(s[0] == "blockabstract" for s in stmts)
        out.append(BlockFact(name, abstract, inherits, allows))
    return tuple(out)
