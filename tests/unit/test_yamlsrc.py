"""The strict YAML reader: located values, and hostile files refused cleanly."""

from __future__ import annotations

import pytest
import yaml

from harden.errors import FileProblems
from harden.system.yaml import parse_documents


def test_lines_are_remembered_for_nested_values() -> None:
    doc = parse_documents("a:\n  b:\n    - 1\n    - x: 2\n", "t.yaml")[0]
    assert doc.data == {"a": {"b": [1, {"x": 2}]}}
    assert doc.line_of(("a", "b", 1, "x")) == 4
    assert doc.line_of(("a", "b", 0)) == 3
    assert doc.line_of(("a", "missing", 7)) == 1


def test_multiple_documents_keep_their_own_lines() -> None:
    docs = parse_documents("a: 1\n---\nb: 2\nc: 3\n", "t.yaml")
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2, "c": 3}]
    assert docs[1].line_of(("c",)) == 4


def test_duplicate_keys_are_errors_with_their_line() -> None:
    with pytest.raises(FileProblems) as info:
        parse_documents("a: 1\nb:\n  c: 1\n  c: 2\n", "t.yaml")
    assert info.value.problems[0].line == 4
    assert info.value.problems[0].field == "b.c"


def test_merge_keys_expand_without_duplicate_errors() -> None:
    doc = parse_documents("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n", "t.yaml")[0]
    assert doc.data["use"] == {"y": 3, "x": 1}


def test_alias_expansion_is_bounded() -> None:
    text = "a: &a [1,2,3,4,5,6,7,8,9,10]\n"
    for i in range(6):
        prev = "a" if i == 0 else f"l{i - 1}"
        text += f"l{i}: &l{i} [" + ",".join([f"*{prev}"] * 10) + "]\n"
    with pytest.raises(FileProblems, match="alias bomb"):
        parse_documents(text, "bomb.yaml", max_nodes=10_000)


def test_python_tags_are_not_constructed() -> None:
    with pytest.raises(FileProblems, match="unsupported YAML tag"):
        parse_documents("a: !!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_syntax_errors_carry_a_line() -> None:
    with pytest.raises(FileProblems) as info:
        parse_documents("a: 1\nb: [\n", "t.yaml")
    assert info.value.problems[0].line is not None


def test_values_are_what_pyyaml_makes_of_them_however_often_they_repeat() -> None:
    text = (
        "a: [true, 'true', yes, 'yes', on, 0755, '0755', 12, 1e3, 1.5, ~, null, '', "
        "2024-01-02, '2024-01-02', .inf, 0x1F, -3, +4, 'x', x]\n"
    )
    expected = yaml.safe_load(text)
    for _ in range(3):  # later reads reuse remembered tags: they must not change a value
        assert parse_documents(text, "t.yaml")[0].data == expected
