"""A planned user-namespace range applied for real: newuidmap/newgidmap (uidmap package)
check the generated /etc/subuid and /etc/subgid lines and the kernel applies the mapping.

The test runs in a private mount namespace where the generated subuid/subgid files and
a passwd with the tenant users are bind-mounted over /etc; the host's files are never
touched. Each tenant is an unprivileged user that maps its own range (allowed) and
then tries its neighbour's range (refused by newuidmap).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from harden.layers.userns.build import plan, tenants_named
from harden.layers.userns.model import Plan
from harden.layers.userns.parse import parse_pool

pytestmark = pytest.mark.root
FIRST_UID = 61_000  # host uids of the test tenants (only inside the test's mount namespace)
SPEC_UID = 101  # the workload's user inside the container (web.yaml)


def _util_linux_new_map_syntax() -> bool:
    """util-linux 2.39 changed --map-users from outer,inner,count to inner:outer:count."""
    out = subprocess.run(["unshare", "--version"], capture_output=True, text=True, check=True)
    major, minor = (int(x) for x in re.findall(r"(\d+)\.(\d+)", out.stdout)[0])
    return (major, minor) >= (2, 39)


def _map_arg(host: int, size: int) -> str:
    return f"0:{host}:{size}" if _util_linux_new_map_syntax() else f"{host},0,{size}"


def _etc(tmp: Path, result: Plan) -> Path:
    etc = tmp / "etc"
    etc.mkdir()
    users = "".join(
        f"{a.tenant}:x:{FIRST_UID + i}:{FIRST_UID + i}::/nonexistent:/usr/sbin/nologin\n"
        for i, a in enumerate(result.allocations)
    )
    (etc / "passwd").write_text(Path("/etc/passwd").read_text() + users)
    (etc / "subuid").write_text(result.subid_text())
    (etc / "subgid").write_text(result.subid_text())
    tmp.chmod(0o755)
    for f in (etc, *etc.iterdir()):
        f.chmod(0o755 if f.is_dir() else 0o644)
    return etc


def _start(etc: Path, tenant_index: int, host: int, size: int) -> subprocess.Popen[str]:
    uid = FIRST_UID + tenant_index
    inner = "echo $$; exec sleep 60"
    as_tenant = (
        f"setpriv --reuid={uid} --regid={uid} --clear-groups unshare --user "
        f"--map-users={_map_arg(host, size)} --map-groups={_map_arg(host, size)} "
        f"--setuid={SPEC_UID} --setgid={SPEC_UID} sh -c {shlex.quote(inner)}"
    )
    script = " && ".join(
        [*(f"mount --bind {etc / n} /etc/{n}" for n in ("passwd", "subuid", "subgid")),
         f"exec {as_tenant}"]
    )  # fmt: skip
    return subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _status_ids(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1))  # type: ignore[union-attr]
    gid = int(re.search(r"^Gid:\s+(\d+)", status, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return uid, gid


@pytest.fixture
def planned(tmp_path: Path) -> tuple[Plan, Path]:
    for tool in ("newuidmap", "newgidmap", "unshare", "setpriv"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed (Debian: uidmap, util-linux); make test installs it")
    pool = parse_pool("harden-pool:300000:131072\n", "pool")
    result = plan(pool, tenants_named("harden-t", 2))
    return result, _etc(tmp_path, result)


def test_a_planned_range_is_applied_by_newuidmap_and_the_kernel(
    planned: tuple[Plan, Path],
) -> None:
    result, etc = planned
    alloc = result.allocations[0]
    proc = _start(etc, 0, alloc.range.start, alloc.range.count)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.isdigit(), proc.stderr.read() if proc.stderr else line
        pid = int(line)
        uid_map = Path(f"/proc/{pid}/uid_map").read_text().split()
        gid_map = Path(f"/proc/{pid}/gid_map").read_text().split()
        assert uid_map == ["0", str(alloc.range.start), str(alloc.range.count)]
        assert gid_map == uid_map
        # the workload's uid 101 is host uid start+101: inside the tenant range, not root
        assert _status_ids(pid) == (alloc.range.start + SPEC_UID, alloc.range.start + SPEC_UID)
    finally:
        proc.kill()
        proc.communicate()  # reap it and close the pipes


def test_a_tenant_cannot_take_its_neighbours_range(planned: tuple[Plan, Path]) -> None:
    result, etc = planned
    other = result.allocations[1].range
    proc = _start(etc, 0, other.start, other.count)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "newuidmap" in err
    assert "not allowed" in err
