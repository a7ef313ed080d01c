"""Reports: one renderer per format, the JSON schema, worst-first order, hostile metadata.

Reports are built from the captured inspect fixtures (offline source) so that the output
is deterministic and reviewed as golden files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harden.audit.report import Report, build_report, score
from harden.audit.rules.catalog import load_catalog
from harden.audit.rules.evaluator import run_rules
from harden.audit.rules.model import Severity, Status
from harden.audit.run import AuditRequest, audit, exit_code
from harden.audit.sources.interface import Scan
from harden.audit.state.model import Fact, SourceKind, TargetKind, TargetState
from harden.errors import ExitCode
from harden.report.formats import RENDERERS, Format, RenderOptions, render, renderer
from harden.report.text import shown
from harden.resources import data_dir
from tests.conftest import DATA, Golden

NOW = "2026-11-26T12:00:00Z"
INSPECT = DATA / "audit" / "inspect"
SCHEMA = json.loads((data_dir("reports") / "audit-report.schema.json").read_text())
HOSTILE = "\x1b]0;pwned\x07\x1b[31m[red]evil[/red]<script>alert(1)</script>\u202egnp.exe\nnext"


def _offline(*files: str) -> Report:
    return audit(AuditRequest(NOW, SourceKind.INSPECT, inputs=tuple(INSPECT / f for f in files)))


def _validate(document: Any) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors[:5]


def test_every_format_has_a_renderer() -> None:
    report = _offline("podman-4.json")
    assert set(RENDERERS) == set(Format)
    for fmt in Format:
        text = renderer(fmt)(report, RenderOptions())
        assert isinstance(text, str)
        assert text.endswith("\n")


def test_the_json_report_follows_its_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for files in (("docker-20.10.json",), ("podman-4.json", "docker-20.10.json")):
        document = json.loads(render(_offline(*files), Format.JSON))
        _validate(document)
        assert document["schema_version"].startswith("1.")


@pytest.mark.parametrize("name", ["podman-4", "docker-20.10"])
def test_table_golden(name: str, golden: Golden) -> None:
    report = _offline(f"{name}.json")
    text = render(report, Format.TABLE, RenderOptions(width=120, details=True))
    text = text.replace(str(INSPECT), "tests/data/audit/inspect")
    golden(f"audit/{name}.table.txt", text)


def test_targets_are_worst_first_with_scores() -> None:
    report = _offline("docker-20.10.json", "podman-4.json")
    ranks = [t.worst.rank if t.worst else -1 for t in report.targets]
    assert ranks == sorted(ranks, reverse=True)
    assert report.targets[0].name == "debug"  # privileged, engine socket, host namespaces
    assert report.targets[-1].name == "web"
    scores = {t.name: t.score or 0 for t in report.targets}
    assert 0 <= scores["debug"] < scores["harden-test-explore1"] < scores["web"] <= 100


def _hostile_state() -> TargetState:
    declared = {
        "id": Fact("a" * 64, "test"),
        "name": Fact(HOSTILE, "test"),
        "image": Fact(HOSTILE, "test"),
        "labels": Fact({HOSTILE: HOSTILE, "plain": "[bold]x"}, "test"),
        "mounts": Fact(
            [
                {
                    "source": f"/etc/{HOSTILE}",
                    "destination": HOSTILE,
                    "type": "bind",
                    "rw": True,
                    "propagation": "private",
                }
            ],
            "test",
        ),
    }
    return TargetState(TargetKind.CONTAINER, "a" * 64, HOSTILE, SourceKind.INSPECT, declared)


def _hostile_report() -> Report:
    state = _hostile_state()
    results = [(state, run_rules(load_catalog().rules(), state))]
    return build_report(
        Scan(SourceKind.INSPECT, (state,), endpoint=HOSTILE),
        results,
        load_catalog().packs,
        {},
        generated_at=NOW,
        tool_version="test",
    )


def test_hostile_metadata_is_shown_literally_in_the_table() -> None:
    text = render(_hostile_report(), Format.TABLE, RenderOptions(width=400, details=True))
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    assert "\\x1b[31m[red]evil[/red]<script>" in text  # escapes, markup and HTML as text
    assert "\\u202e" in text
    assert "\\nnext" in text
    assert "[bold]x" in text


def test_hostile_metadata_round_trips_exactly_through_json() -> None:
    text = render(_hostile_report(), Format.JSON)
    assert text.isascii()
    document = json.loads(text)
    _validate(document)
    target = document["targets"][0]
    assert target["name"] == HOSTILE
    assert target["labels"][HOSTILE] == HOSTILE
    mnt = next(f for f in target["findings"] if f["rule"] == "MNT-001")
    assert mnt["detail"] == [f"/etc/{HOSTILE} -> {HOSTILE} (rw)"]


def test_colour_is_only_added_when_asked() -> None:
    report = _offline("podman-4.json")
    assert "\x1b[" not in render(report, Format.TABLE, RenderOptions(color=False))
    assert "\x1b[" in render(report, Format.TABLE, RenderOptions(color=True))


def test_shown_escapes_everything_a_terminal_would_interpret() -> None:
    assert shown("a\x1b[2Jb\x9bc\x00\u2028\\") == "a\\x1b[2Jb\\x9bc\\x00\\u2028\\\\"
    assert shown("x" * 50, limit=10) == "x" * 9 + "…"


def test_shown_escapes_what_no_output_can_hold_and_keeps_the_rest() -> None:
    # bidi overrides, lone surrogates and noncharacters in the first and the last plane
    assert shown("a\u202eb\ud800c\ufdd0\ufffe\U0010ffff") == (
        "a\\u202eb\\ud800c\\ufdd0\\ufffe\\U0010ffff"
    )
    assert shown("Pod/ns/web/nginx é 漢 \U0001f600") == "Pod/ns/web/nginx é 漢 \U0001f600"


def test_exit_codes_follow_the_threshold() -> None:
    report = _offline("podman-4.json")
    assert exit_code(report, Severity.HIGH) is ExitCode.FAILED
    assert exit_code(report, None) is ExitCode.OK
    web_only = Report(
        **{**report.__dict__, "targets": tuple(t for t in report.targets if t.name == "web")}
    )
    assert exit_code(web_only, Severity.HIGH) is ExitCode.OK
    assert exit_code(web_only, Severity.MEDIUM) is ExitCode.FAILED
    incomplete = _hostile_report()  # facts missing without a recorded reason: unknown
    assert incomplete.count(Status.ERROR) > 0
    assert exit_code(incomplete, None) is ExitCode.INCOMPLETE
    down = Report(**{**report.__dict__, "engine_unavailable": True, "problems": ("down",)})
    assert exit_code(down, Severity.HIGH) is ExitCode.ENVIRONMENT


def test_render_is_pure(tmp_path: Path) -> None:
    report = _offline("docker-20.10.json")
    first = [render(report, f) for f in Format]
    second = [render(report, f) for f in Format]
    assert first == second
    assert list(tmp_path.iterdir()) == []


_SEVERITIES = st.sampled_from(list(Severity))


@given(st.lists(_SEVERITIES, max_size=30), _SEVERITIES, st.integers(0, 40))
def test_one_more_failure_never_raises_the_score(
    failures: list[Severity], another: Severity, passes: int
) -> None:
    def of(severities: list[Severity], passed: int) -> int | None:
        failed: dict[Severity, int] = {}
        for severity in severities:
            failed[severity] = failed.get(severity, 0) + 1
        counts = {Status.PASS: passed, Status.FAIL: len(severities)}
        return score(counts, failed)

    before, after = of(failures, passes), of([*failures, another], passes)
    assert after is not None
    assert before is None or after <= before
    if another is Severity.CRITICAL:
        assert after <= 39  # a critical failure never looks almost fine
    if before is not None:
        assert of(failures, passes + 10) == before  # passing rules do not dilute failures


def test_nothing_decided_has_no_score() -> None:
    assert score({Status.ERROR: 3, Status.SKIPPED: 5}, {}) is None
    assert score({Status.PASS: 1}, {}) == 100


def test_unknown_facts_and_no_failure_are_no_clean_score() -> None:
    # --source proc: the kernel rules pass, the configuration rules cannot be read
    assert score({Status.PASS: 9, Status.ERROR: 4}, {}) is None
    assert score({Status.PASS: 9, Status.ERROR: 4, Status.FAIL: 1}, {Severity.LOW: 1}) == 98
