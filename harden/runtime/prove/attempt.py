"""One attempt: start the workload in the real engine under (a variant of) its bundle,
wait until it is ready, run the check beside it, and stop it.

A *variant* changes one layer of the bundle (the seccomp default action, the
capability set, the read-only root) or drops the bundle entirely; the diagnosis and
capability minimisation are series of attempts.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harden.generate import forms
from harden.generate.reader import BundleOnDisk
from harden.layers.seccomp import render as seccomp_json
from harden.layers.seccomp.model import Action, Profile
from harden.runtime.container import (
    DEFAULT_PREFIX,
    ClientResult,
    Where,
    container_pid,
    exit_status,
    logs_tail,
    remove,
    run_client,
    unique_name,
    wait_ready,
)
from harden.system import proc

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ProveTarget:
    """What to prove: a bundle, the image and command it confines, and the check."""

    bundle: BundleOnDisk
    image: str
    check: str
    command: tuple[str, ...] = ()
    check_where: Where = Where.CONTAINER
    check_image: str | None = None
    ready_timeout: float = 30.0
    check_timeout: float = 120.0
    prefix: str = DEFAULT_PREFIX


@dataclass(frozen=True)
class Variant:
    """How an attempt differs from the bundle as written."""

    label: str
    unconfined: bool = False  # the engine's defaults: no bundle at all
    seccomp_default: Action | None = None  # e.g. LOG: unlisted calls are logged, not denied
    capabilities: tuple[str, ...] | None = None  # replaces the bundle's set
    read_only: bool | None = None
    track_pids: bool = False  # collect every pid of the workload (for kernel log records)
    collect_diff: bool = False  # what the workload changed in its root file system


BUNDLE = Variant("the bundle")


@dataclass(frozen=True)
class Attempt:
    variant: Variant
    started: bool
    problem: str  # why the workload did not start or become ready ("" when it did)
    check: ClientResult | None
    logs: str
    pids: frozenset[int] = frozenset()
    changed: tuple[str, ...] = ()  # paths added or changed in the root file system

    @property
    def passed(self) -> bool:
        return self.started and not self.problem and self.check is not None and self.check.ok

    def summary(self) -> str:
        if not self.started or self.problem:
            return self.problem or "did not start"
        assert self.check is not None
        if self.check.exit_code is None:
            return f"the check timed out after {self.check.seconds:.0f} s"
        if self.check.ok:
            return "the check passed"
        tail = self.check.output.strip().splitlines()[-1:] or ["no output"]
        return f"the check failed (exit {self.check.exit_code}): {tail[0][:200]}"


def run_options(target: ProveTarget, variant: Variant) -> dict[str, Any]:
    """docker SDK ``containers.run`` keyword arguments for a variant of the bundle."""
    if variant.unconfined:
        return {}
    bundle = target.bundle
    caps = bundle.caps
    if variant.capabilities is not None:
        caps = dataclasses.replace(caps, keep=tuple(variant.capabilities))
    profile: Profile = bundle.seccomp
    if variant.seccomp_default is not None:
        profile = dataclasses.replace(profile, default_action=variant.seccomp_default)
    seccomp = seccomp_json.dumps(seccomp_json.to_docker_json(profile))
    opts = forms.docker_sdk_options(forms.Layers(bundle.spec, caps), seccomp)
    if variant.read_only is not None:
        opts["read_only"] = variant.read_only
    return opts


class _PidTracker:
    """Polls the workload's cgroup while it runs, so short-lived processes are seen."""

    def __init__(self, init: int) -> None:
        self.init = init
        self.pids: set[int] = {init}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.pids |= proc.members(self.init)
            time.sleep(0.02)

    def stop(self) -> frozenset[int]:
        self._stop.set()
        self._thread.join()
        return frozenset(self.pids)


def attempt(client: Any, target: ProveTarget, variant: Variant, progress: Progress) -> Attempt:
    """Run the workload under ``variant`` and the check beside it."""
    import docker.errors  # noqa: PLC0415

    progress(f"running {target.image} under {variant.label}")
    command: Sequence[str] | None = list(target.command) or None
    try:
        container = client.containers.run(
            target.image,
            command,
            name=unique_name(target.prefix, "prove"),
            network_mode="none",
            detach=True,
            **run_options(target, variant),
        )
    except docker.errors.APIError as exc:
        return Attempt(
            variant, False, f"the engine could not start it: {exc.explanation}", None, ""
        )
    try:
        return _observe(client, container, target, variant)
    finally:
        remove(container)


def _observe(client: Any, container: Any, target: ProveTarget, variant: Variant) -> Attempt:
    init = container_pid(container)
    tracker = _PidTracker(init) if variant.track_pids and init else None
    ports: set[tuple[int, str]] = {(p.port, p.protocol) for p in target.bundle.spec.network.listen}
    result: ClientResult | None = None
    problem = wait_ready(container, ports, target.ready_timeout) or ""
    if not problem:
        result = run_client(
            client,
            container,
            target.check,
            where=target.check_where,
            image=target.check_image or target.image,
            prefix=target.prefix,
            timeout=target.check_timeout,
        )
    pids = tracker.stop() if tracker else frozenset()
    changed = _changed(container) if variant.collect_diff else ()
    running, code = exit_status(container)
    logs = logs_tail(container)
    if not running and not problem and result is not None and not result.ok:
        problem = f"the workload exited with status {code} during the check"
    return Attempt(variant, True, problem, result, logs, pids, changed)


def _changed(container: Any) -> tuple[str, ...]:
    try:
        diff = container.diff() or []
    except Exception:
        return ()
    return tuple(sorted(d["Path"] for d in diff if d.get("Kind") in (0, 1)))


def with_changes(variant: Variant, **changes: Any) -> Variant:
    return dataclasses.replace(variant, **changes)


@dataclass
class AttemptLog:
    """Every attempt made for one proof, in order (the proof's evidence)."""

    attempts: list[Attempt] = field(default_factory=list)

    def add(self, item: Attempt) -> Attempt:
        self.attempts.append(item)
        return item
