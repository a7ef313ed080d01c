"""The LSM data in ``profiles/``: AppArmor file-rule blocks and harden's SELinux CIL blocks.

Loaded strictly (unknown keys, unknown triggers, bad access letters are located
errors) and cached for the process, like the syscall sets.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harden.errors import FileProblems, Problem
from harden.profile.triggers import TRIGGERS
from harden.resources import data_dir
from harden.system.reading import read_text
from harden.system.validation import problems_from_validation
from harden.system.yaml import load_single

_PERMS = r"^[rwaklmix]+$"
SELINUX_BLOCKS_MODULE = "harden-blocks"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _FileIn(_Strict):
    path: str = Field(pattern=r"^/")
    perms: str = Field(pattern=_PERMS)
    reason: str = Field(min_length=3)
    owner: bool = False


class _BlockIn(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = Field(min_length=10)
    implied_by: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    files: tuple[_FileIn, ...]


class _BlocksIn(_Strict):
    blocks: tuple[_BlockIn, ...]
    protect: tuple[_FileIn, ...]


@dataclass(frozen=True)
class PatternRule:
    """A file rule written as an AppArmor pattern by harden (not from a spec)."""

    path: str
    perms: str
    reason: str
    owner: bool = False


@dataclass(frozen=True)
class AppArmorBlock:
    name: str
    description: str
    implied_by: tuple[str, ...]
    sets: tuple[str, ...]
    files: tuple[PatternRule, ...]


@dataclass(frozen=True)
class AppArmorData:
    blocks: tuple[AppArmorBlock, ...]
    protect: tuple[PatternRule, ...]
    source: str


def _rule(raw: _FileIn) -> PatternRule:
    return PatternRule(raw.path, raw.perms, raw.reason, raw.owner)


@functools.cache
def apparmor_data() -> AppArmorData:
    """``profiles/apparmor/blocks.yaml``."""
    path = data_dir("profiles") / "apparmor" / "blocks.yaml"
    doc = load_single(path, what="AppArmor blocks")
    try:
        parsed = _BlocksIn.model_validate(doc.data)
    except ValidationError as exc:
        raise FileProblems(str(path), problems_from_validation(exc, doc)) from None
    problems = [
        Problem(f"unknown trigger {key!r}", f"blocks[{i}].implied_by", doc.line_of(("blocks", i)))
        for i, block in enumerate(parsed.blocks)
        for key in block.implied_by
        if key not in TRIGGERS
    ]
    if problems:
        raise FileProblems(str(path), problems)
    blocks = tuple(
        AppArmorBlock(b.name, b.description, b.implied_by, b.sets, tuple(_rule(f) for f in b.files))
        for b in parsed.blocks
    )
    return AppArmorData(blocks, tuple(_rule(f) for f in parsed.protect), str(path))


_BLOCK_RE = re.compile(r"^\(block (harden_[a-z_]+)$", re.MULTILINE)


@dataclass(frozen=True)
class SelinuxBlocks:
    """harden's reusable CIL blocks: the module text and the block names it defines."""

    text: str
    names: frozenset[str]
    source: Path


@functools.cache
def selinux_blocks() -> SelinuxBlocks:
    """``profiles/selinux/harden-blocks.cil``, installed as its own module."""
    path = data_dir("profiles") / "selinux" / f"{SELINUX_BLOCKS_MODULE}.cil"
    text = read_text(path, what="SELinux blocks")
    names = frozenset(_BLOCK_RE.findall(text))
    if not names:
        raise FileProblems(str(path), [Problem("defines no (block harden_...) at all")])
    return SelinuxBlocks(text, names, path)
