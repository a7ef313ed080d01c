"""Option defaults from a config file and the environment, for every command at once.

``.harden.yaml`` is looked for from the working directory up to the repository root
(the nearest directory holding ``.git``), or named with ``harden --config FILE``
(``HARDEN_CONFIG``). It maps command names to their options' defaults, nested for
command groups::

    gate:
      policy: policy.yaml            # paths are relative to this file
      output: [sarif=harden.sarif, junit=junit.xml]
    audit:
      fail_on: medium
    rules:
      list: {format: json}

Keys are the options' long names (``fail_on`` or ``fail-on`` for ``--fail-on``). Every
option of every command also reads ``HARDEN_<COMMAND>_<OPTION>``
(``HARDEN_GATE_FAIL_ON=medium``, ``HARDEN_RULES_LIST_FORMAT=json``; a repeatable option
takes several values separated by spaces); the command line wins over the environment,
which wins over the file. Unknown commands or options in the file are errors with their line,
so a typo never silently changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harden.errors import FileProblems, Problem

CONFIG_NAME = ".harden.yaml"
ENV_PREFIX = "HARDEN"


def find_config(start: Path) -> Path | None:
    """The nearest ``.harden.yaml`` from ``start`` up to the repository root."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def load_defaults(group: click.Group, ctx: click.Context, path: Path | None) -> dict[str, Any]:
    """The ``default_map`` for ``group`` from ``path`` (or the file found), checked."""
    if path is None:
        path = find_config(Path.cwd())
        if path is None:
            return {}
    from harden.system.yaml import load_single  # noqa: PLC0415 - PyYAML only for a file

    doc = load_single(path, what="harden config", max_bytes=1 << 20)
    problems: list[Problem] = []
    defaults = _section(group, ctx, doc.data, (), path.parent, doc, problems)
    if problems:
        raise FileProblems(str(path), problems, hint="keys are command names, then option names")
    return defaults


def _section(
    command: click.Command,
    ctx: click.Context,
    data: Any,
    where: tuple[str, ...],
    base: Path,
    doc: Any,
    problems: list[Problem],
) -> dict[str, Any]:
    line = doc.line_of(where) or 1
    dotted = ".".join(where)
    if not isinstance(data, dict):
        problems.append(Problem("must be a map of names to values", dotted, line))
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        at = (*where, str(key))
        if isinstance(command, click.Group):
            sub = command.get_command(ctx, str(key))
            if sub is None:
                message = f"no command {key!r}; there are: {', '.join(command.list_commands(ctx))}"
                problems.append(Problem(message, ".".join(at), doc.line_of(at)))
                continue
            out[str(key)] = _section(sub, ctx, value, at, base, doc, problems)
            continue
        from harden.cli import long_name  # noqa: PLC0415

        options = {long_name(p): p for p in command.params if isinstance(p, click.Option)}
        param = options.get(name)
        if param is None:
            message = f"{command.name} has no option {key!r}; it has: {', '.join(sorted(options))}"
            problems.append(Problem(message, ".".join(at), doc.line_of(at)))
            continue
        default = _relative(param, value, base)
        try:  # checked here, so that a bad value is named with its line in this file
            param.type_cast_value(ctx, default)
        except click.BadParameter as exc:
            problems.append(Problem(exc.message, ".".join(at), doc.line_of(at)))
            continue
        except (AttributeError, TypeError, ValueError):  # click's types expect text: a
            # YAML list or map where the option takes one value fails inside them
            message = f"{_short(value)} is not a value {long_flag(param)} takes"
            problems.append(Problem(message, ".".join(at), doc.line_of(at)))
            continue
        out[param.name or name] = default
    return out


def _relative(param: click.Option, value: Any, base: Path) -> Any:
    """Paths in the file are relative to the file, wherever harden runs from."""
    values = value if isinstance(value, list) else [value]
    fixed = [_one(param.type, v, base) for v in values]
    return fixed if isinstance(value, list) else fixed[0]


def _one(kind: click.ParamType[Any], value: Any, base: Path) -> Any:
    if not isinstance(value, str) or value == "-" or Path(value).is_absolute():
        return value
    if isinstance(kind, click.Path):
        return str(base / value)
    rebase = getattr(kind, "rebase", None)
    return rebase(value, base) if rebase is not None else value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def long_flag(param: click.Option) -> str:
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])
