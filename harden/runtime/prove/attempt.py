"""One attempt: start the workload in the real engine under (a variant of) its bundle,
wait until it is ready, run the check beside it, and stop it.

A *variant* changes one layer of the bundle (the seccomp default action, the
capability set, the read-only root) or drops the bundle entirely; the diagnosis and
capability minimisation are series of attempts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harden.generate import forms
from harden.generate.reader import BundleOnDisk
from harden.layers.seccomp import render as seccomp_json
from harden.layers.seccomp.model import Action, Profile
from harden.progress import Progress, step
from harden.runtime.container import (
    DEFAULT_PREFIX,
    ClientResult,
    Where,
    container_pid,
    exit_status,
    logs_tail,
    remove,
    remove_named,
    run_client,
    unique_name,
    wait_ready,
    wait_ready_command,
)
from harden.system import proc


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
    load: str | None = None  # a heavy workload run before the check (separate from it)
    load_duration: float | None = None  # repeat the load until this long has passed
    load_timeout: float = 900.0
    restart: bool = False  # after the check: SIGKILL the workload, start it again, check again
    ready: str | None = None  # a command that succeeds once the workload is ready


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
    load: ClientResult | None = None

    @property
    def passed(self) -> bool:
        return self.started and not self.problem and self.check is not None and self.check.ok

    def summary(self) -> str:
        if not self.started or self.problem:
            return self.problem or "did not start"
        if self.load is not None and not self.load.ok:
            return _failed("the load", self.load)
        assert self.check is not None
        if self.check.ok:
            return "the load and the check passed" if self.load is not None else "the check passed"
        return _failed("the check", self.check)


def _failed(what: str, result: ClientResult) -> str:
    if result.exit_code is None:
        return f"{what} timed out after {result.seconds:.0f} s"
    tail = result.output.strip().splitlines()[-1:] or ["no output"]
    return f"{what} failed (exit {result.exit_code}): {tail[0][:200]}"


def run_options(target: ProveTarget, variant: Variant) -> dict[str, Any]:
    """docker SDK ``containers.run`` keyword arguments for a variant of the bundle."""
    bundle = target.bundle
    if variant.unconfined:  # the engine's defaults, but as the spec's user
        return {"user": f"{bundle.spec.user.uid}:{bundle.spec.user.gid}"}
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

    step(progress, f"running {target.image} under {variant.label}")
    command: Sequence[str] | None = list(target.command) or None
    name = unique_name(target.prefix, "prove")
    try:
        container = client.containers.run(
            target.image,
            command,
            name=name,
            network_mode="none",
            detach=True,
            **run_options(target, variant),
        )
    except docker.errors.APIError as exc:
        remove_named(client, name)  # created but not started: never leave it behind
        return Attempt(
            variant, False, f"the engine could not start it: {exc.explanation}", None, ""
        )
    try:
        return _observe(client, container, target, variant)
    finally:
        remove(container)


def _client(client: Any, container: Any, target: ProveTarget, command: str,
            timeout: float) -> ClientResult:  # fmt: skip
    return run_client(client, container, command, where=target.check_where,
                      image=target.check_image or target.image, prefix=target.prefix,
                      timeout=timeout)  # fmt: skip


def _run_load(client: Any, container: Any, target: ProveTarget) -> ClientResult | None:
    """The heavy workload: once, or again and again until ``load_duration`` has passed."""
    if not target.load:
        return None
    start = time.monotonic()
    while True:
        result = _client(client, container, target, target.load, target.load_timeout)
        done = time.monotonic() - start
        if not result.ok or target.load_duration is None or done >= target.load_duration:
            return dataclasses.replace(result, seconds=done)


def _ready(client: Any, container: Any, target: ProveTarget) -> str:
    """Wait for the spec's ports, then for ``target.ready`` to succeed ("" when ready)."""
    ports: set[tuple[int, str]] = {(p.port, p.protocol) for p in target.bundle.spec.network.listen}
    problem = wait_ready(container, ports, target.ready_timeout)
    if problem or not target.ready:
        return problem or ""
    return wait_ready_command(
        client, container, target.ready, where=target.check_where,
        image=target.check_image or target.image, prefix=target.prefix,
        timeout=target.ready_timeout,
    ) or ""  # fmt: skip


def _restart(client: Any, container: Any, tracker: _PidTracker | None, target: ProveTarget) -> str:
    """SIGKILL the workload and start it again (crash recovery under the bundle)."""
    import docker.errors  # noqa: PLC0415

    with contextlib.suppress(docker.errors.APIError):  # it may have died by itself
        container.kill()
    container.wait(timeout=30)
    try:
        container.start()
    except docker.errors.APIError as exc:
        return f"after a restart (SIGKILL, start): the engine could not start it: {exc}"
    if tracker is not None:
        tracker.init = container_pid(container)
    problem = _ready(client, container, target)
    return f"after a restart (SIGKILL, start): {problem}" if problem else ""


def _observe(client: Any, container: Any, target: ProveTarget, variant: Variant) -> Attempt:
    init = container_pid(container)
    tracker = _PidTracker(init) if variant.track_pids and init else None
    result: ClientResult | None = None
    load: ClientResult | None = None
    problem = _ready(client, container, target)
    if not problem:
        load = _run_load(client, container, target)
    if not problem and (load is None or load.ok):
        result = _client(client, container, target, target.check, target.check_timeout)
        if result.ok and target.restart:
            problem = _restart(client, container, tracker, target)
            if not problem:
                result = _client(client, container, target, target.check, target.check_timeout)
    pids = tracker.stop() if tracker else frozenset()
    changed = _changed(container) if variant.collect_diff else ()
    running, code = exit_status(container)
    logs = logs_tail(container)
    failed = (result is not None and not result.ok) or (load is not None and not load.ok)
    if not running and not problem and failed:
        problem = f"the workload exited with status {code} during the load or the check"
    return Attempt(variant, True, problem, result, logs, pids, changed, load)


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
