"""harden: container security hardening and audit toolkit.

The package is a typed library with a thin command-line interface (``harden``). The
public API is what ``__all__`` lists; each name is imported on first use, so that
``import harden`` (and ``harden --help``) stays fast::

    import harden

    spec = harden.load_spec(Path("web.yaml")).spec
    bundle = harden.build_bundle(spec, all_layers=True)       # every artefact, checked
    verdicts = harden.verify_bundle(Path("out/web"))          # after hand edits too
    report = harden.run_audit(harden.AuditRequest("2026-01-01T00:00:00Z"))
    report, _baseline = harden.run_gate(harden.GateRequest((Path("k8s"),), now, today))
    print(harden.render(report, harden.Format.SARIF))
    fixed = harden.run_fix(harden.FixRequest(Path("k8s/web.yaml"), now, today))  # .fixed

Every expected failure is a :class:`HardenError` with ``diagnostics()`` and an
:class:`ExitCode`. (``run_audit`` and ``run_gate``, not ``audit`` and ``gate``: those
names are the subpackages.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from harden.audit.report import Report
    from harden.audit.run import AuditRequest
    from harden.audit.run import audit as run_audit
    from harden.errors import ExitCode, HardenError
    from harden.fix.run import FixRequest, FixResult
    from harden.fix.run import fix as run_fix
    from harden.gate.run import GateRequest
    from harden.gate.run import gate as run_gate
    from harden.generate.bundle import Bundle, build_bundle
    from harden.profile.loader import load_spec
    from harden.profile.spec import WorkloadSpec
    from harden.report.formats import Format, render
    from harden.report.merge import merge
    from harden.verify.run import VerifyReport, verify_bundle

# public name -> (the module that defines it, its name there)
_API: dict[str, tuple[str, str]] = {
    "load_spec": ("harden.profile.loader", "load_spec"),
    "WorkloadSpec": ("harden.profile.spec", "WorkloadSpec"),
    "build_bundle": ("harden.generate.bundle", "build_bundle"),
    "Bundle": ("harden.generate.bundle", "Bundle"),
    "verify_bundle": ("harden.verify.run", "verify_bundle"),
    "VerifyReport": ("harden.verify.run", "VerifyReport"),
    "run_audit": ("harden.audit.run", "audit"),
    "AuditRequest": ("harden.audit.run", "AuditRequest"),
    "run_gate": ("harden.gate.run", "gate"),
    "GateRequest": ("harden.gate.run", "GateRequest"),
    "run_fix": ("harden.fix.run", "fix"),
    "FixRequest": ("harden.fix.run", "FixRequest"),
    "FixResult": ("harden.fix.run", "FixResult"),
    "Report": ("harden.audit.report", "Report"),
    "render": ("harden.report.formats", "render"),
    "Format": ("harden.report.formats", "Format"),
    "merge": ("harden.report.merge", "merge"),
    "HardenError": ("harden.errors", "HardenError"),
    "ExitCode": ("harden.errors", "ExitCode"),
}

__all__ = [
    "AuditRequest",
    "Bundle",
    "ExitCode",
    "FixRequest",
    "FixResult",
    "Format",
    "GateRequest",
    "HardenError",
    "Report",
    "VerifyReport",
    "WorkloadSpec",
    "__version__",
    "build_bundle",
    "load_spec",
    "merge",
    "render",
    "run_audit",
    "run_fix",
    "run_gate",
    "verify_bundle",
]


def __getattr__(name: str) -> Any:
    found = _API.get(name)
    if found is None:
        raise AttributeError(f"module 'harden' has no attribute {name!r}")
    module, attribute = found
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
