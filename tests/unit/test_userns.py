"""The user-namespace planner: properties that hold for every pool and tenant list, strict
pool files, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harden.errors import ExitCode, FileProblems
from harden.layers.userns.build import PlanError, plan, tenants_named
from harden.layers.userns.model import MAX_ID, IdRange, Pool, PoolEntry, Tenant
from harden.layers.userns.parse import parse_pool
from tests.conftest import CliResult, run_harden


@st.composite
def pools(draw: st.DrawFn) -> Pool:
    """Non-overlapping pool entries anywhere in the ID space (never ID 0)."""
    cuts = sorted(draw(st.sets(st.integers(1, MAX_ID), min_size=2, max_size=12)))
    entries: list[PoolEntry] = []
    for i, (start, end) in enumerate(zip(cuts[::2], cuts[1::2], strict=False)):
        if draw(st.booleans()) or not entries:
            entries.append(PoolEntry(f"o{i}", IdRange(start, end - start), i + 1))
    return Pool(tuple(entries), "generated")


tenant_lists = st.lists(st.integers(1, 200_000), min_size=1, max_size=40).map(
    lambda sizes: [Tenant(f"t{i}", size) for i, size in enumerate(sizes)]
)


@settings(max_examples=300, deadline=None)
@given(pool=pools(), tenants=tenant_lists)
def test_ranges_never_overlap_and_stay_inside_the_pool(pool: Pool, tenants: list[Tenant]) -> None:
    try:
        result = plan(pool, tenants)
    except PlanError:
        # refusing is only right when the tenants really do not fit
        assert (
            sum(t.size for t in tenants) > pool.size
            or len(tenants) > 1
            or all(e.range.count < tenants[0].size for e in pool.entries)
        )
        return
    ranges = [a.range for a in result.allocations]
    assert [a.tenant for a in result.allocations] == [t.name for t in tenants]
    assert [r.count for r in ranges] == [t.size for t in tenants]
    for i, a in enumerate(ranges):
        assert any(e.range.start <= a.start and a.end <= e.range.end for e in pool.entries)
        assert a.start > 0  # host root is never mapped
        for b in ranges[i + 1 :]:
            assert not a.overlaps(b)
    assert plan(pool, tenants) == result  # deterministic


@settings(max_examples=100, deadline=None)
@given(sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=30))
def test_a_pool_exactly_as_large_as_needed_is_filled_exactly(sizes: list[int]) -> None:
    pool = Pool((PoolEntry("p", IdRange(100_000, sum(sizes)), 1),), "exact")
    result = plan(pool, [Tenant(f"t{i}", s) for i, s in enumerate(sizes)])
    assert result.used == pool.size
    with pytest.raises(PlanError, match="too small"):
        plan(pool, [*(Tenant(f"t{i}", s) for i, s in enumerate(sizes)), Tenant("one-more", 1)])


def test_ten_thousand_tenants_fit_a_large_pool() -> None:
    pool = parse_pool("pool:100000:700000000\n", "pool")
    result = plan(pool, tenants_named("t-", 10_000))
    assert len(result.allocations) == 10_000
    assert result.allocations[-1].range.end <= 100000 + 700000000
    assert result.allocations[0].tenant == "t-00001"


def test_every_form_of_an_allocation() -> None:
    result = plan(parse_pool("p:200000:131072\n", "pool"), [Tenant("web", 65536)])
    forms = result.allocations[0].forms()
    assert forms["subuid"] == forms["subgid"] == "web:200000:65536"
    assert forms["oci"]["uidMappings"] == [{"containerID": 0, "hostID": 200000, "size": 65536}]
    assert forms["docker_daemon"] == {"userns-remap": "web"}
    assert forms["podman"] == ["--uidmap=0:200000:65536", "--gidmap=0:200000:65536"]
    assert forms["podman_auto"] == "--userns=auto:size=65536"
    assert forms["kubernetes"] == {"spec": {"hostUsers": False}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a:100000:65536\nb:150000:65536\n", "overlaps 100000-165535 (a, line 1)"),
        ("a:100000:65536\nb:0:1000\n", "holds host root"),
        ("a:100000:65536\nnot a line\n", "expected owner:start:count"),
        ("a:4294967200:1000\n", "past the last ID"),
        ("a:100000:0\n", "empty"),
        ("# only a comment\n", "no subordinate ID ranges"),
    ],
)
def test_bad_pools_are_located_errors(text: str, message: str) -> None:
    with pytest.raises(FileProblems) as info:
        parse_pool(text, "pool.txt")
    assert message in info.value.diagnostics()
    assert "pool.txt:" in info.value.diagnostics()


def test_host_root_only_when_explicitly_allowed() -> None:
    pool = parse_pool("root:0:65536\n", "p", allow_host_root=True)
    assert plan(pool, [Tenant("priv", 65536)]).allocations[0].range.start == 0


def test_owner_selects_pool_lines() -> None:
    pool = parse_pool("alice:100000:65536\ncontainers:200000:655360\n", "p", owner="containers")
    assert [e.owner for e in pool.entries] == ["containers"]


@pytest.mark.parametrize("name", ["Upper", "9lives", "x" * 33, "has space"])
def test_tenant_names_must_be_user_names(name: str) -> None:
    with pytest.raises(PlanError, match="not a valid user name"):
        plan(parse_pool("p:100000:65536\n", "p"), [Tenant(name, 10)])


def _cli(tmp_path: Path, pool: str, *args: str) -> CliResult:
    (tmp_path / "subuid").write_text(pool)
    return run_harden("userns", "plan", "--from", str(tmp_path / "subuid"), *args)


def test_cli_plan_text_json_and_subuid(tmp_path: Path) -> None:
    result = _cli(tmp_path, "pool:100000:6553600\n", "--tenants", "50")
    assert result.code == 0, result.output
    assert "tenant-50:3311264:65536" in result.output
    as_json = _cli(tmp_path, "pool:100000:6553600\n", "--tenants", "3", "--format", "json")
    doc = json.loads(as_json.stdout)
    assert [t["subuid"] for t in doc["tenants"]] == [
        "tenant-1:100000:65536",
        "tenant-2:165536:65536",
        "tenant-3:231072:65536",
    ]
    lines = _cli(tmp_path, "p:100000:1000\n", "--tenants", "2", "--size", "500", "--format",
                 "subuid")  # fmt: skip
    assert lines.stdout == "tenant-1:100000:500\ntenant-2:100500:500\n"


def test_cli_pool_too_small_is_exit_2_without_traceback(tmp_path: Path) -> None:
    result = _cli(tmp_path, "pool:100000:655360\n", "--tenants", "11")
    assert result.code == ExitCode.INPUT
    assert "too small" in result.output
    assert "tenant-11" in result.output
    assert "Traceback" not in result.output


def test_cli_overlapping_pool_is_exit_2(tmp_path: Path) -> None:
    result = _cli(tmp_path, "a:100000:65536\nb:100001:5\n", "--tenants", "1")
    assert result.code == ExitCode.INPUT
    assert "subuid:2: b: range 100001-100005 overlaps" in result.output


def test_cli_sizes_from_a_spec(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: small\nuser_namespace: {size: 4096}\n")
    result = _cli(tmp_path, "p:100000:65536\n", "--tenants", "2", "--spec", str(spec))
    assert "tenant-2:104096:4096" in result.output
