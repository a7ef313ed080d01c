"""No input makes harden crash: mutation fuzzing of every input kind, through the CLI.

Each case mutates a seed of tests/data (see :mod:`tests.fuzz.mutate`) and runs the
command that reads that kind of input, in a random report format, to stdout or a file.
Asserted for every case:

- the exit code is 0, 1, 2 or 3: never 70 (a bug), never a traceback;
- input that is not UTF-8, not even YAML/JSON, or that its published schema rejects
  exits 2 with an ``error:`` line naming the file;
- an exit 2 writes no output file;
- a SARIF or JUnit report written conforms to the consumers' schemas.

``make test`` runs a short, reproducible run (the ``fuzz-short`` profile); ``make fuzz``
runs the long one (``HARDEN_FUZZ=long``: thousands of cases per kind, new ones each run).
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.conformance import junit_problems, sarif_problems
from tests.conftest import run_harden
from tests.fuzz.kinds import FORMATS, KINDS, Kind
from tests.fuzz.mutate import Seed, mutated

# a failing case may be large (a mutated inspect file): its repr is still worth printing
pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore:Generating overly large repr")]

LONG = os.environ.get("HARDEN_FUZZ") == "long"
EXAMPLES = int(os.environ.get("HARDEN_FUZZ_EXAMPLES") or (5000 if LONG else 100))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not LONG,  # CI runs the same cases every time; the long run explores
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


_LOADER = yaml.CSafeLoader  # libyaml, as harden reads YAML (it accepts "key\t: value")


@functools.cache
def _validator(schema: Path) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema.read_text()))


def _plain(value: Any) -> Any:
    """A YAML value as JSON would hold it (dates as text, keys as strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _invalid(kind: Kind, seed: Seed, raw: bytes) -> str:
    """Why ``raw`` must be refused with exit 2 whatever harden thinks of it, or ''."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if seed.syntax == "text":
        return ""  # what a KEY=VALUE file may hold is the reader's to say
    try:
        if seed.syntax == "json":
            docs = [json.loads(text)]
        else:
            docs = [d for d in yaml.compose_all(text, Loader=_LOADER) if d is not None]
    except (ValueError, yaml.YAMLError, RecursionError):
        return f"not {seed.syntax}"
    if seed.syntax == "yaml":
        try:
            docs = [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]
        except Exception as exc:
            return f"no YAML value: {type(exc).__name__} {exc}"
    if kind.schema is not None and len(docs) == 1:
        try:
            errors = list(_validator(kind.schema).iter_errors(_plain(docs[0])))
        except RecursionError:
            return "too deep for the schema"
        if errors:
            return f"refused by {kind.schema.name}: {errors[0].message[:200]}"
    return ""


def _check(kind: Kind, case: tuple[Seed, bytes], fmt: str, to_file: bool, tmp: Path) -> None:
    seed, raw = case
    path = tmp / kind.file_name
    path.write_bytes(raw)
    out = tmp / f"report.{fmt}"
    if out.is_dir():  # a bundle generate wrote
        shutil.rmtree(out)
    out.unlink(missing_ok=True)
    args = kind.args(path, fmt, out if to_file else None)
    to_file = str(out) in args  # spec check and explain print only; generate writes a bundle
    result = run_harden(*args)
    context = f"{kind.name} from {seed.name}, --format {fmt}: exit {result.code}\n{result.output}"
    assert result.code in (0, 1, 2, 3), context
    assert "Traceback" not in result.output, context
    must_refuse = _invalid(kind, seed, raw)
    if must_refuse:
        assert result.code == 2, f"{must_refuse}\n{context}"
    if result.code == 2:
        assert "error:" in result.stderr, context
        assert not out.exists(), f"exit 2 wrote {out}\n{context}"
        return
    if to_file and kind.reports and fmt == "sarif":
        assert sarif_problems(out.read_text()) == [], context
    if to_file and kind.reports and fmt == "junit":
        assert junit_problems(out.read_text()) == [], context


@pytest.mark.parametrize("name", sorted(KINDS))
def test_no_input_crashes_harden(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    kind = KINDS[name]
    tmp = tmp_path_factory.mktemp(f"fuzz-{name}")

    @FUZZ
    @given(case=mutated(kind.seeds()), fmt=st.sampled_from(FORMATS), to_file=st.booleans())
    def run(case: tuple[Seed, bytes], fmt: str, to_file: bool) -> None:
        _check(kind, case, fmt, to_file, tmp)

    run()
