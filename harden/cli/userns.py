"""``harden userns``: planning user-namespace ID ranges for many tenants."""

from __future__ import annotations

import json
from pathlib import Path

import click

from harden.cli.console import info, literal


@click.group()
def userns() -> None:
    """Plan user-namespace mappings (subordinate UID/GID ranges)."""


@userns.command("plan")
@click.option("--tenants", type=click.IntRange(1, 1_000_000), required=True, help="How many.")
@click.option(
    "--from",
    "pool_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="/etc/subuid-style pool file (owner:start:count lines) to allocate from.",
)
@click.option("--owner", help="Use only the pool lines of this owner.")
@click.option(
    "--size",
    type=click.IntRange(1, 2**32 - 2),
    help="IDs per tenant (default 65536, or the spec's user_namespace.size with --spec).",
)
@click.option(
    "--spec",
    "spec_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Size each range from this workload spec.",
)
@click.option("--prefix", default="tenant-", show_default=True, help="Tenant name prefix.")
@click.option(
    "--allow-host-root",
    is_flag=True,
    help="Accept pool ranges that hold host ID 0 (never needed for a normal pool).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "subuid"]),
    default="text",
    show_default=True,
    help="text: a table and the subuid/subgid lines; json: every form per tenant; "
    "subuid: only the lines for /etc/subuid (and /etc/subgid).",
)
def plan_cmd(
    tenants: int,
    pool_file: Path,
    owner: str | None,
    size: int | None,
    spec_file: Path | None,
    prefix: str,
    allow_host_root: bool,
    fmt: str,
) -> None:
    """Allocate non-overlapping subordinate ID ranges for TENANTS tenants from a pool.

    No range overlaps another or leaves the pool, none holds host root (ID 0) unless
    --allow-host-root, and UIDs and GIDs get the same range. Exit 2 if the pool is too
    small, malformed or has overlapping lines.
    """
    from harden.layers.userns.build import plan, tenants_named  # noqa: PLC0415
    from harden.layers.userns.model import DEFAULT_SIZE  # noqa: PLC0415
    from harden.layers.userns.parse import load_pool  # noqa: PLC0415

    if spec_file is not None:
        from harden.profile.loader import load_spec  # noqa: PLC0415

        spec_userns = load_spec(spec_file).spec.user_namespace
        size = size or (spec_userns.size if spec_userns else DEFAULT_SIZE)
    pool = load_pool(pool_file, owner=owner, allow_host_root=allow_host_root)
    result = plan(pool, tenants_named(prefix, tenants, size or DEFAULT_SIZE))
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    elif fmt == "subuid":
        click.echo(result.subid_text(), nl=False)
    else:
        for alloc in result.allocations:
            r = alloc.range
            click.echo(f"{literal(alloc.tenant):<24} {r.start:>12} - {r.end - 1:<12} {r.count}")
        click.echo("\n# /etc/subuid and /etc/subgid")
        click.echo(result.subid_text(), nl=False)
    info(
        f"{len(result.allocations)} tenants, {result.used} of {result.pool_size} pool IDs "
        f"allocated from {literal(result.source)}"
    )
