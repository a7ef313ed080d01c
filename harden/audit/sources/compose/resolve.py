"""A compose file as the engine would see it: variables interpolated, ``extends`` merged.

Interpolation follows the Compose Specification: ``$VAR`` and ``${VAR}``, the ``:-``
and ``-`` defaults, ``:?`` and ``?`` required values (an input error naming the line),
``:+`` and ``+`` alternatives, nested operands, and ``$$`` for a literal dollar. Values
come from the environment, then the ``.env`` file next to the compose file (read with
python-dotenv). Only values are interpolated, never keys, per file before merging. A
variable that is not set and has no default becomes an empty string, as in compose, and
the scan says so (the result is incomplete: the deployment may well set it).

``extends`` (``extends: base`` or ``extends: {service: base, file: other.yaml}``) copies
the base service under the local one with the specification's merge rules: mappings
merge key by key, sequences append, ``command``, ``entrypoint`` and ``healthcheck.test``
are replaced, ``ports`` and ``volumes`` are unique (by published port, by target).
Inherited values keep the line of the base service in the same file, or of the
``extends`` key when the base is in another file.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harden.errors import FileProblems, InputError, Problem
from harden.system.reading import read_text
from harden.system.yaml import Located, PathKey, load_single

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DIRECT = re.compile(rf"\$(?:(\$)|({_NAME})|\{{)")
_BRACED = re.compile(rf"({_NAME})(?:(:?[-?+])|(?=\}}))")
MAX_EXTENDS = 16
_REPLACED = ("command", "entrypoint")
MAX_COMPOSE_BYTES = 8 << 20


@dataclass
class Resolved:
    doc: Located
    problems: list[str] = field(default_factory=list)  # unset variables: scan problems


def resolve(doc: Located, environ: Mapping[str, str] | None = None) -> Resolved:
    """The document interpolated and its services' ``extends`` merged."""
    env = variables(Path(doc.source).parent, os.environ if environ is None else environ)
    problems: list[str] = []
    data = _interpolate(doc.data, (), doc, env, problems)
    resolved = Located(data, doc.source, dict(doc.lines), doc.start_line)
    services = data.get("services") if isinstance(data, dict) else None
    if isinstance(services, dict):
        ctx = _Context(env, problems)
        for name in list(services):
            if isinstance(services[name], dict) and "extends" in services[name]:
                services[name] = _extended(resolved, name, ctx, depth=0)
    return Resolved(resolved, problems)


def variables(folder: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The project's variables: ``.env`` in ``folder``, overridden by the environment."""
    values: dict[str, str] = {}
    dotenv = folder / ".env"
    if dotenv.is_file():
        text = read_text(dotenv, what=".env file")  # size limit, located UTF-8 errors
        from dotenv import dotenv_values  # noqa: PLC0415 - only for projects with a .env
        from dotenv.parser import parse_stream  # noqa: PLC0415

        # python-dotenv skips a line it cannot parse with a log message; compose refuses
        # the file, and a variable silently unset would judge a value nobody wrote
        bad = [_first_line(b.original) for b in parse_stream(io.StringIO(text)) if b.error]
        if bad:
            problems = [Problem("not a KEY=VALUE line", line=line) for line in bad]
            raise FileProblems(str(dotenv), problems, hint="see the compose .env file syntax")
        parsed = dotenv_values(stream=io.StringIO(text))
        values = {k: v for k, v in parsed.items() if v is not None}
    return {**values, **environ}


def _first_line(original: Any) -> int:
    """The line of a statement's text, past the blank lines python-dotenv counts in it."""
    text = str(original.string)
    return int(original.line) + len(text) - len(text.lstrip("\n"))


def _interpolate(
    value: Any, path: PathKey, doc: Located, env: Mapping[str, str], problems: list[str]
) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), doc, env, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), doc, env, problems) for i, v in enumerate(value)]
    if isinstance(value, str) and "$" in value:
        try:
            text, unset = substitute(value, env)
        except ValueError as exc:
            dotted = ".".join(str(p) for p in path)
            raise FileProblems(doc.source, [Problem(str(exc), dotted, doc.line_of(path))]) from None
        where = f"{doc.source}:{doc.line_of(path)}: {'.'.join(str(p) for p in path)}"
        problems += [f"{where}: variable {name} is not set (judged as empty)" for name in unset]
        return _typed(text, path)
    return value


# Keys whose interpolated text compose casts back to a boolean or an integer (as
# compose-go does for its schema's typed fields): "${PRIV:-false}" must stay a boolean.
_BOOLEANS = frozenset({"privileged", "read_only", "init", "tty", "stdin_open", "oom_kill_disable"})
_INTEGERS = frozenset(
    {
        "pids_limit",
        "cpu_shares",
        "cpu_count",
        "cpu_percent",
        "oom_score_adj",
        "mem_swappiness",
        "published",
        "target",
        "replicas",
        "max_attempts",
    }
)


def _typed(text: str, path: PathKey) -> Any:
    key = path[-1] if path else ""
    if key in _BOOLEANS and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if key in _INTEGERS and re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def substitute(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """``text`` interpolated, and the names of unset variables used without a default;
    ValueError for a required variable that is missing or a malformed expression."""
    out: list[str] = []
    unset: list[str] = []
    pos = 0
    while (match := _DIRECT.search(text, pos)) is not None:
        out.append(text[pos : match.start()])
        if match.group(1):  # $$: a literal dollar
            out.append("$")
            pos = match.end()
        elif match.group(2):  # $NAME
            out.append(_lookup(match.group(2), env, unset))
            pos = match.end()
        else:  # ${...}
            value, pos = _braced(text, match.end(), env, unset)
            out.append(value)
    out.append(text[pos:])
    return "".join(out), unset


def _braced(text: str, start: int, env: Mapping[str, str], unset: list[str]) -> tuple[str, int]:
    """The value of ``${...}`` whose body starts at ``start``, and where it ends."""
    match = _BRACED.match(text, start)
    if match is None:
        raise ValueError(f"invalid interpolation format for {text[start - 2 :]!r}")
    name, operator = match.group(1), match.group(2) or ""
    end, depth = match.end(), 1
    body_start = end
    while end < len(text) and depth:
        if text.startswith("${", end):
            depth, end = depth + 1, end + 2
            continue
        depth -= text[end] == "}"
        end += 1
    if depth:
        raise ValueError(f"unclosed '${{' in {text!r}")
    operand = text[body_start : end - 1]
    present = name in env
    value = env.get(name, "")
    empty_counts = operator.startswith(":")
    missing = not present or (empty_counts and value == "")
    if operator in ("", None):
        return _lookup(name, env, unset), end
    if operator.endswith("-"):
        return (substitute(operand, env)[0] if missing else value), end
    if operator.endswith("?"):
        if missing:
            detail = substitute(operand, env)[0] or f"variable {name} is required"
            raise ValueError(f"required variable {name} is missing a value: {detail}")
        return value, end
    return ("" if missing else substitute(operand, env)[0]), end  # :+ and +


def _lookup(name: str, env: Mapping[str, str], unset: list[str]) -> str:
    if name not in env:
        unset.append(name)
    return env.get(name, "")


@dataclass(frozen=True)
class _Context:
    env: Mapping[str, str]
    problems: list[str]


def _extended(doc: Located, name: str, ctx: _Context, depth: int) -> dict[str, Any]:
    """Service ``name`` of ``doc`` with its ``extends`` chain merged in (lines copied)."""
    services: dict[str, Any] = doc.data["services"]
    local = dict(services[name])
    spec = local.pop("extends")
    at: PathKey = ("services", name, "extends")

    def fail(message: str) -> FileProblems:
        return FileProblems(
            doc.source, [Problem(message, f"services.{name}.extends", doc.line_of(at))]
        )

    if depth > MAX_EXTENDS:
        raise fail("the extends chain is too long (a cycle?)")
    base_name, other = _extends_target(spec, doc, at)
    if other is None:
        if not isinstance(services.get(base_name), dict):
            raise fail(f"extends an unknown service {base_name!r}")
        raw: dict[str, Any] = services[base_name]
        base = _extended(doc, base_name, ctx, depth + 1) if "extends" in raw else dict(raw)
        _copy_lines(doc, ("services", base_name), ("services", name), None)
    else:
        try:
            other_doc = load_single(other, what="compose file", max_bytes=MAX_COMPOSE_BYTES)
        except InputError as exc:
            raise fail(f"extends from {other}: {exc.message}") from None
        resolved = resolve(other_doc, ctx.env)
        ctx.problems.extend(resolved.problems)
        found = resolved.doc.data.get("services") if isinstance(resolved.doc.data, dict) else None
        if not isinstance(found, dict) or not isinstance(found.get(base_name), dict):
            raise fail(f"{other} has no service {base_name!r}")
        base = dict(found[base_name])
        _copy_lines(doc, None, ("services", name), doc.line_of(at))
    merged: dict[str, Any] = merge(base, local)
    return merged


def _extends_target(spec: Any, doc: Located, at: PathKey) -> tuple[str, Path | None]:
    """(the base service, its other file or None) of an ``extends`` value."""
    if isinstance(spec, str):
        return spec, None
    if isinstance(spec, dict) and isinstance(spec.get("service"), str):
        file = spec.get("file")
        if file is None:
            return spec["service"], None
        if isinstance(file, str):
            return spec["service"], Path(doc.source).parent / file
    where = ".".join(str(p) for p in at)
    problem = Problem("extends is a service name or {service, file}", where, doc.line_of(at))
    raise FileProblems(doc.source, [problem])


def _copy_lines(doc: Located, base: PathKey | None, local: PathKey, line: int | None) -> None:
    """Give every inherited path of ``local`` a line: the base's own, or ``line``."""
    lines = doc.lines
    if base is not None:
        for key, value in list(lines.items()):
            if key[: len(base)] == base:
                lines.setdefault((*local, *key[len(base) :]), value)
    elif line is not None:
        lines.setdefault(local, line)


def merge(base: Any, local: Any, key: str = "", parent: str = "") -> Any:
    """``local`` over ``base`` by the Compose Specification's merge rules."""
    if isinstance(base, dict) and isinstance(local, dict):
        out = dict(base)
        for k, v in local.items():
            out[k] = merge(base[k], v, str(k), key) if k in base else v
        return out
    if isinstance(base, list) and isinstance(local, list):
        if key in _REPLACED or (parent == "healthcheck" and key == "test"):
            return local
        if key in ("ports", "volumes"):
            unique = {_unique(key, item): item for item in base}
            unique.update({_unique(key, item): item for item in local})
            return list(unique.values())
        return [*base, *(item for item in local if item not in base)]
    return local


def _unique(key: str, item: Any) -> str:
    """The identity of a port or a volume entry (published port, or target path)."""
    if isinstance(item, dict):
        if key == "volumes":
            return str(item.get("target", item))
        parts = (item.get("host_ip", ""), item.get("published", ""), item.get("target", ""))
        return ":".join(str(p) for p in parts) + f"/{item.get('protocol', 'tcp')}"
    text = str(item)
    if key == "volumes":
        fields = text.split(":")
        return posixpath.normpath(fields[1] if len(fields) > 1 else fields[0])
    return text
