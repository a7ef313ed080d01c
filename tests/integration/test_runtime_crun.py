"""crun's runtime base set, measured by running crun itself (the engine cannot start it
on hybrid cgroup hosts such as this one); the shipped set must cover a new measurement."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from harden.profile.catalog import syscall_sets
from harden.runtime.record.runtime_direct import measure_direct

pytestmark = [pytest.mark.docker, pytest.mark.root]


def test_crun_measured_directly_is_covered_by_the_shipped_set(docker: Any, test_image: str) -> None:
    if shutil.which("crun") is None:
        pytest.fail("crun is needed (make test installs it)")
    measured = measure_direct(docker, test_image, "crun", rounds=1)
    assert measured.direct
    assert "execve" in measured.seen  # crun execs the entrypoint under the filter
    assert "capset" in measured.seen  # and drops capabilities after installing it
    shipped = set(syscall_sets()["runtime-crun"].syscalls)
    assert set(measured.seen) <= shipped, set(measured.seen) - shipped
