"""``harden fix``: rewrite a compose file or Kubernetes manifest hardened."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import click

_VERSION = re.compile(r"^v?1\.\d{1,2}$")  # as a policy's kubernetes_version


class KubernetesVersion(click.ParamType[tuple[int, int]]):
    name = "version"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None
                ) -> tuple[int, int]:  # fmt: skip
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        if not _VERSION.match(text):
            self.fail(f"{value!r} is not a Kubernetes version; use e.g. v1.29", param, ctx)
        major, _, minor = text.removeprefix("v").partition(".")
        return int(major), int(minor)


@click.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--write", is_flag=True, help="Rewrite the file in place (and copy profiles).")
@click.option(
    "--patch",
    is_flag=True,
    help="Print a strategic merge patch (Kubernetes, kustomize) or a compose override "
    "instead of the diff.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the diff or patch to this file instead of stdout ('-': stdout).",
)
@click.option(
    "--bundle",
    type=click.Path(path_type=Path, file_okay=False),
    help="Apply this bundle (harden generate) to the service or container.",
)
@click.option("--service", help="Compose: the service the bundle is for.")
@click.option("--container", help="Kubernetes: the container the bundle is for.")
@click.option(
    "--policy",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Gate policy: which rules run and which findings are waived.",
)
@click.option(
    "--k8s-version",
    "k8s_version",
    type=KubernetesVersion(),
    default=None,
    help="Kubernetes version the manifest is for: before v1.30, AppArmor is set by "
    "annotation [newest].",
)
def fix(
    path: Path,
    write: bool,
    patch: bool,
    output: Path | None,
    bundle: Path | None,
    service: str | None,
    container: str | None,
    policy: Path | None,
    k8s_version: tuple[int, int] | None,
) -> None:
    """Rewrite a compose file or Kubernetes manifest (every workload kind) hardened,
    keeping its comments, order and formatting.

    Fixes come from what the gate finds (each rule with a mechanical fix declares it in
    its pack) and, with --bundle, from a generated bundle. Without --write the unified
    diff is printed; what cannot be fixed mechanically (host mounts, host namespaces) is
    listed on standard error, never changed.

    \b
    harden fix k8s/deploy.yaml                               the diff
    harden fix k8s/deploy.yaml --write                       fix in place
    harden fix k8s/deploy.yaml --patch -o hardened.patch.yaml
    harden fix compose.yaml --service web --bundle out/web --write

    Exit codes: 0 the result passes the policy; 1 failures the policy counts remain (listed);
    2 bad usage or input (nothing written); 3 some rule could not be decided.
    """
    from harden.fix.run import NEWEST, FixRequest  # noqa: PLC0415
    from harden.fix.run import fix as run_fix  # noqa: PLC0415
    from harden.fix.text import summary, unified_diff  # noqa: PLC0415
    from harden.gate.run import exit_code  # noqa: PLC0415

    if service and container:
        raise click.UsageError("--service is for compose files, --container for manifests")
    if write and (patch or output):
        raise click.UsageError("--write rewrites the file; --patch and -o print instead")
    now = datetime.now(UTC).replace(microsecond=0)
    result = run_fix(
        FixRequest(
            path,
            now.isoformat().replace("+00:00", "Z"),
            now.date(),
            policy=policy,
            kubernetes_version=k8s_version or NEWEST,
            bundle=bundle,
            select=service or container or "",
        )
    )
    if write:
        _write(result)
    else:
        from harden.cli.output import emit  # noqa: PLC0415

        emit(result.patch if patch else unified_diff(result), output)
    from harden.cli.console import info  # noqa: PLC0415

    for line in summary(result, written=write):
        info(line)
    click.get_current_context().exit(int(exit_code(result.report)))


def _write(result: object) -> None:
    from harden.fix.run import FixResult  # noqa: PLC0415
    from harden.system.files import write_file, write_new  # noqa: PLC0415

    assert isinstance(result, FixResult)
    for extra in result.files:
        write_new(extra.path, extra.data)
    if result.changed:
        write_file(result.path, result.fixed, keep_mode=True)
