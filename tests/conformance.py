"""The consumers' own schemas: SARIF 2.1.0 (OASIS) and JUnit XML (Jenkins' xUnit plugin).

Both are vendored unchanged in tests/data/conformance/ (see its README). A report that
GitHub code scanning or a CI server would refuse fails these checks.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema_rs
from lxml import etree

from tests.conftest import DATA

CONFORMANCE = DATA / "conformance"


@functools.cache
def _sarif() -> jsonschema_rs.Validator:
    schema = json.loads((CONFORMANCE / "sarif-schema-2.1.0.json").read_text())
    return jsonschema_rs.validator_for(schema)


@functools.cache
def _junit() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(CONFORMANCE / "junit-10.xsd")))


def sarif_problems(text: str) -> list[str]:
    """Where ``text`` breaks the SARIF 2.1.0 schema (empty: it conforms)."""
    document: Any = json.loads(text)
    try:
        errors = list(_sarif().iter_errors(document))[:5]
    except UnicodeEncodeError as exc:  # a \\ud800 escape: no text GitHub can show
        return [f"a lone surrogate in the document: {exc}"]
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message[:200]}" for e in errors]


def junit_problems(text: str) -> list[str]:
    """Where ``text`` is not well-formed XML or breaks the JUnit schema (empty: it conforms)."""
    try:
        root = etree.fromstring(text.encode("utf-8", "surrogatepass"))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = _junit()
    if schema.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5]]
