"""Every input kind harden reads, its seeds from tests/data, and the commands that read it."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harden.report.formats import Format
from tests.conftest import DATA, ROOT, run_harden
from tests.fuzz.mutate import Seed, Syntax

FORMATS = tuple(f.value for f in Format)
CORPUS_K8S = DATA / "gate" / "corpus" / "k8s" / "bad.yaml"

# args(input file, report format, output file or None) -> the harden command line
Args = Callable[[Path, str, Path | None], list[str]]


def _seeds(files: list[Path], syntax: Syntax) -> tuple[Seed, ...]:
    return tuple(Seed(str(p.relative_to(ROOT)), p.read_text(), syntax) for p in sorted(files))


def _output(out: Path | None) -> list[str]:
    return ["-o", str(out)] if out is not None else []


@dataclass(frozen=True)
class Kind:
    name: str
    file_name: str  # what the mutated input is called (gate recognises inputs by content)
    seeds: Callable[[], tuple[Seed, ...]]
    args: Args
    schema: Path | None = None  # a document this schema rejects must exit 2
    reports: bool = True  # its command writes a report in --format (checked if SARIF or JUnit)


@functools.cache
def _derived(what: str) -> tuple[Seed, ...]:
    """Seeds harden writes from the test data: host reports and a baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        if what == "baseline":
            run_harden("gate", str(DATA / "gate" / "corpus"), "--write-baseline", str(out))
            return (Seed("baseline of tests/data/gate/corpus", out.read_text(), "json"),)
        seeds = []
        for inspect in sorted((DATA / "audit" / "inspect").glob("*.json")):
            audit = run_harden("audit", "--input", str(inspect), "--format", "json", "-o", str(out))
            assert audit.code in (0, 1), audit.output
            seeds.append(Seed(f"audit of {inspect.name}", out.read_text(), "json"))
        gate = run_harden("gate", str(DATA / "gate" / "corpus"), "--format", "json", "-o", str(out))
        assert gate.code in (0, 1), gate.output
        seeds.append(Seed("gate of tests/data/gate/corpus", out.read_text(), "json"))
        return tuple(seeds)


_ENV_PROJECT = (
    "services:\n  web:\n    image: ${IMAGE:-app}:${TAG}\n    privileged: ${PRIVILEGED:-false}\n"
    "    cap_add: ['${EXTRA_CAP:-CHOWN}']\n    volumes: ['${DATA_DIR:-./d}:/data']\n"
)


def _env_project(dotenv: Path) -> Path:
    """The compose file beside a .env under test (it reads the .env's variables)."""
    compose = dotenv.parent / "compose.yaml"
    compose.write_text(_ENV_PROJECT)
    return compose


def _manifests() -> tuple[Seed, ...]:
    files = [*(DATA / "gate" / "corpus" / "k8s").glob("*.yaml")]
    files += sorted((DATA / "gate" / "pss").glob("*/*.yaml"))[::4]
    files.append(ROOT / "deploy" / "harden-daemonset.yaml")
    return _seeds(files, "yaml")


def _specs() -> tuple[Seed, ...]:
    files = [
        *(DATA / "specs" / "good").glob("*.yaml"),
        *(ROOT / "profiles" / "workloads").glob("*.yaml"),
    ]
    return _seeds(files, "yaml")


def _seccomp() -> tuple[Seed, ...]:
    files = [
        *(DATA / "seccomp").glob("*.json"),
        *(DATA / "golden" / "bundles").glob("*/seccomp.json"),
    ]
    return _seeds(files, "json")


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(  # generate loads the spec like `spec check`, then builds and checks every layer
            "spec",
            "spec.yaml",
            _specs,
            lambda p, _f, o: ["generate", str(p), "-o", str(o)] if o else ["spec", "check", str(p)],
            reports=False,
        ),
        Kind(
            "policy",
            "policy.yaml",
            lambda: _seeds([*(DATA / "gate" / "policies").glob("*.yaml")], "yaml"),
            lambda p, f, o: [
                "gate",
                str(CORPUS_K8S),
                "--policy",
                str(p),
                "--format",
                f,
                *_output(o),
            ],
            ROOT / "audit" / "policy.schema.json",
        ),
        Kind(  # .harden.yaml: option defaults for every command (harden --config FILE)
            "config",
            "harden.yaml",
            lambda: _seeds([DATA / "config" / "harden.yaml"], "yaml"),
            lambda p, f, o: [
                "--config",
                str(p),
                "gate",
                str(CORPUS_K8S),
                "--format",
                f,
                *_output(o),
            ],
        ),
        Kind(  # a compose project's .env, next to a compose file that reads its variables
            "dotenv",
            ".env",
            lambda: _seeds([DATA / "compose" / "project.env"], "text"),
            lambda p, f, o: ["gate", str(_env_project(p)), "--format", f, *_output(o)],
        ),
        Kind(
            "manifest",
            "manifest.yaml",
            _manifests,
            lambda p, f, o: ["gate", str(p), "--format", f, *_output(o)],
        ),
        Kind(
            "compose",
            "compose.yaml",
            lambda: _seeds([*(DATA / "gate" / "corpus" / "compose").glob("*.yaml")], "yaml"),
            lambda p, f, o: ["gate", str(p), "--format", f, *_output(o)],
        ),
        Kind(
            "inspect",
            "inspect.json",
            lambda: _seeds(
                [
                    *(DATA / "audit" / "inspect").glob("*.json"),
                    DATA / "gate" / "corpus" / "inspect.json",
                ],
                "json",
            ),
            lambda p, f, o: ["audit", "--input", str(p), "--format", f, *_output(o)],
        ),
        Kind(
            "baseline",
            "baseline.json",
            lambda: _derived("baseline"),
            lambda p, f, o: [
                "gate",
                str(DATA / "gate" / "corpus"),
                "--baseline",
                str(p),
                "--format",
                f,
                *_output(o),
            ],
        ),
        Kind(
            "host-report",
            "host.json",
            lambda: _derived("report"),
            lambda p, f, o: ["report", "merge", str(p), "--format", f, *_output(o)],
            ROOT / "reports" / "audit-report.schema.json",
        ),
        Kind(
            "seccomp",
            "seccomp.json",
            _seccomp,
            lambda p, _f, _o: ["explain", str(p)],
            reports=False,
        ),
    )
}
