"""Reading a running container's seccomp records from the kernel log (/dev/kmsg).

The ring buffer is read from its oldest record, kept only for the container's
processes (its cgroup, read in /proc; followed while ``duration`` runs, so processes
that come and go are seen). Rate limits: without auditd the kernel prints audit
records through printk, rate-limited (about 10 lines per 5 s); while following, the
limit is lifted (kernel.printk_ratelimit = 0, restored after), and every "callbacks
suppressed" or audit_lost line the kernel writes is counted and reported, so a
proposal is never silently partial. The audit netlink socket is not used: it belongs
to auditd when one runs, and taking it over would stop the host's audit trail.
"""

from __future__ import annotations

import contextlib
import time

from harden.runtime.learn.propose import Proposal
from harden.system import proc
from harden.system.kmsg import KernelLog, unlimited_printk

POLL_SECONDS = 0.2


def learn(init_pid: int, duration: float | None) -> Proposal:
    """The records of the container whose first process is ``init_pid``."""
    proposal = Proposal()
    pids = proc.members(init_pid) | {init_pid}
    lifted = unlimited_printk() if duration else contextlib.nullcontext()
    with KernelLog(from_start=True) as kernel, lifted:
        backlog = list(kernel.records())
        deadline = time.monotonic() + (duration or 0)
        while time.monotonic() < deadline and proc.alive(init_pid):
            pids |= proc.members(init_pid)
            backlog += kernel.records()
            time.sleep(POLL_SECONDS)
        backlog += kernel.records()
        proposal.dropped = kernel.dropped
    for record in backlog:
        proposal.add(record, pids)
    return proposal
