"""The --all forms start a real container: the Docker options with every layer (seccomp,
AppArmor name, SELinux labels, capabilities, read-only root, user) are accepted by the
engine and the workload runs. This engine has neither AppArmor nor SELinux enabled, so
those two options are accepted but not enforced here; seccomp is enforced by runc."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harden.generate.files import build_layers, form_layers
from harden.generate.forms import docker_sdk_options
from harden.layers.registry import Host
from harden.layers.seccomp.build import build_profile
from harden.profile.loader import load_spec
from tests.conftest import EXAMPLE_SPECS

pytestmark = pytest.mark.docker


def test_web_runs_under_every_layer_of_its_bundle(
    docker: Any, test_image: str, container_name: Callable[[], str], selinux_base: Any
) -> None:
    spec = load_spec(EXAMPLE_SPECS["web"]).spec
    built = build_layers(spec, Host(lambda: selinux_base), all_layers=True)
    opts = docker_sdk_options(form_layers(built), built_seccomp(spec))
    assert "apparmor=harden-web" in opts["security_opt"]
    assert "label=type:harden-web.process" in opts["security_opt"]
    container = docker.containers.run(
        test_image,
        ["/bin/sh", "-c", "cat /srv/www/index.html && id -u"],
        name=container_name(),
        network_mode="none",
        detach=True,
        **opts,
    )
    result = container.wait(timeout=60)
    logs = container.logs().decode()
    assert result["StatusCode"] == 0, logs
    assert logs.split() == ["hello", "from", "harden", "101"]


def built_seccomp(spec: Any) -> str:
    from harden.layers.seccomp.render import dumps, to_docker_json

    return dumps(to_docker_json(build_profile(spec)))
