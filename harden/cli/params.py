"""Shared click parameter types for the recording and proving commands."""

from __future__ import annotations

import re

import click

_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Duration(click.ParamType[float]):
    """A duration such as ``60s``, ``2m``, ``500ms`` or a number of seconds."""

    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None
                ) -> float:  # fmt: skip
        if isinstance(value, int | float):
            return float(value)
        match = _DURATION.match(str(value).strip())
        if not match or float(match["n"]) <= 0:
            self.fail(f"{value!r} is not a duration; use e.g. 60s, 2m, 500ms", param, ctx)
        return float(match["n"]) * _UNITS[match["unit"]]


DURATION = Duration()
