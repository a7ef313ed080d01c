"""Rule packs are data from outside the code: a bad one is refused with file, line and field.

Also the validated-pack cache: used when the packs are unchanged, never when they changed,
and never from a directory someone else could write.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harden.audit.rules import catalog as catalog_module
from harden.audit.rules.catalog import load_catalog
from harden.audit.rules.cel import constants, flatten
from harden.audit.rules.loader import load_pack, load_references, load_strict
from harden.audit.run import AuditRequest, audit
from harden.audit.state.model import SourceKind, TargetKind
from harden.errors import FileProblems, HardenError
from harden.resources import cache_dir, data_dir
from tests.conftest import DATA, Golden

BAD = sorted((DATA / "audit" / "bad").glob("*.yaml"))
REFS = load_references(data_dir("audit") / "references.yaml")[0]
CONSTANTS = constants()


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_pack_diagnosis(path: Path, golden: Golden, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(path.parent)
    with pytest.raises(HardenError) as info:
        load_pack(Path(path.name), REFS, CONSTANTS)
    text = info.value.diagnostics() + "\n"
    assert text.startswith(f"error: {path.name}:")
    golden(f"audit/packs/{path.stem}.txt", text)


def test_a_misspelt_fact_gets_a_suggestion() -> None:
    with pytest.raises(FileProblems) as info:
        load_pack(DATA / "audit" / "bad" / "unknown-fact.yaml", REFS, CONSTANTS)
    assert "did you mean container.caps.bounding?" in info.value.diagnostics()


def test_fact_references_in_strings_are_left_alone() -> None:
    text = 'container.image == "container.caps.bounding" && declared.seccomp.mode != "x"'
    assert flatten(text, TargetKind.CONTAINER, CONSTANTS) == (
        'declared__image == "container.caps.bounding" && declared__seccomp__mode != "x"'
    )
    merged = flatten("container.no_new_privs", TargetKind.CONTAINER, CONSTANTS)
    assert merged == (
        "(effective__no_new_privs__known ? effective__no_new_privs : declared__no_new_privs)"
    )


def _copy_packs(tmp_path: Path) -> Path:
    folder = tmp_path / "audit"
    shutil.copytree(data_dir("audit"), folder)
    return folder


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HARDEN_CACHE_DIR", str(tmp_path / "cache" / "harden"))
    catalog_module.forget()
    yield tmp_path / "cache" / "harden"
    catalog_module.forget()


def test_unchanged_packs_come_from_the_cache(
    tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _copy_packs(tmp_path)
    strict = load_catalog(folder)
    assert len(list(private_cache.glob("audit-packs-*.json"))) == 1
    catalog_module.forget()

    from harden.audit.rules import loader

    def refuse(_folder: Path) -> None:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(loader, "load_strict", refuse)
    cached = load_catalog(folder)
    assert [r.id for r in cached.rules()] == [r.id for r in strict.rules()]


def test_a_changed_pack_is_validated_again(tmp_path: Path, private_cache: Path) -> None:
    folder = _copy_packs(tmp_path)
    load_catalog(folder)
    catalog_module.forget()
    pack = folder / "packs" / "container.yaml"
    pack.write_text(pack.read_text().replace("container.privileged\n", "container.privilegd\n"))
    with pytest.raises(FileProblems) as info:
        load_catalog(folder)
    assert "unknown fact container.privilegd" in info.value.diagnostics()


def test_a_corrupt_cache_file_is_ignored(tmp_path: Path, private_cache: Path) -> None:
    folder = _copy_packs(tmp_path)
    load_catalog(folder)
    catalog_module.forget()
    for path in private_cache.glob("audit-packs-*.json"):
        path.write_text('{"key": "wrong", "packs": []}')
    assert len(load_catalog(folder).rules()) > 60


def test_a_cache_directory_others_can_write_is_not_used(
    tmp_path: Path, private_cache: Path
) -> None:
    private_cache.mkdir(parents=True)
    private_cache.chmod(0o777)  # writable by anyone: the point of the test
    assert cache_dir() is None
    folder = _copy_packs(tmp_path)
    assert len(load_catalog(folder).rules()) > 60
    assert list(private_cache.iterdir()) == []


def test_a_bad_rules_folder_stops_the_audit_before_any_scan(tmp_path: Path) -> None:
    folder = _copy_packs(tmp_path)
    shutil.copy(DATA / "audit" / "bad" / "has-macro.yaml", folder / "packs" / "extra.yaml")
    request = AuditRequest(
        "2026-01-01T00:00:00Z",
        SourceKind.INSPECT,
        rules_dir=folder,
        inputs=(DATA / "audit" / "inspect" / "podman-4.json",),
    )
    with pytest.raises(FileProblems) as info:
        audit(request)
    assert "extra.yaml" in info.value.diagnostics()
    assert "has() is not allowed" in info.value.diagnostics()


@pytest.mark.parametrize(
    ("covers", "message"),
    [
        ("[NET-999]", "PRIV-001.covers: covers unknown rule 'NET-999'"),
        ("[PRIV-001]", "PRIV-001.covers: covers itself"),
        ("[NS-001]", "PRIV-001.covers: covers form a cycle"),
    ],
)
def test_covers_must_name_other_rules_without_a_cycle(
    tmp_path: Path, covers: str, message: str
) -> None:
    folder = _copy_packs(tmp_path)
    pack = folder / "packs" / "container.yaml"
    text = pack.read_text()
    start = text.index("    covers: [CAP-001,")
    end = text.index("]", start) + 1
    text = text[:start] + f"    covers: {covers}" + text[end:]
    if "NS-001" in covers:  # NS-001 covers PRIV-001, which covers NS-001
        net = '    condition: container.namespaces.net == "host"\n'
        text = text.replace(net, net + "    covers: [PRIV-001]\n", 1)
    pack.write_text(text)
    with pytest.raises(FileProblems) as info:
        load_strict(folder)
    assert message in info.value.diagnostics()
