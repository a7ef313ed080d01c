"""Output formats: a closed set, each mapped to one pure renderer.

A renderer is ``render(report, options) -> str``: no I/O, no clock, deterministic.
Adding a format (SARIF, JUnit, HTML, Markdown) is one enum member, one registry entry
and one module; a test proves every member has a renderer.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harden.audit.report import Report


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    HTML = "html"


@dataclass(frozen=True)
class RenderOptions:
    width: int = 120  # terminal columns (table)
    color: bool = False  # ANSI colours (table)
    details: bool = False  # every failing finding with its evidence (table)
    pretty: bool = False  # indented JSON (compact is ~4x faster to write)
    max_bytes: int = 60_000  # Markdown: stay under a pull-request comment's limit
    docs_url: str = "https://harden.invalid/audit/docs/{id}.md"  # a rule's page ({id})


Renderer = Callable[["Report", RenderOptions], str]

# format -> "module:function"; imported on use so a JSON run never loads rich.
RENDERERS: dict[Format, str] = {
    Format.TABLE: "harden.report.table:render_table",
    Format.JSON: "harden.report.jsonout:render_json",
    Format.SARIF: "harden.report.sarif:render_sarif",
    Format.JUNIT: "harden.report.junit:render_junit",
    Format.MARKDOWN: "harden.report.markdown:render_markdown",
    Format.HTML: "harden.report.html:render_html",
}


def renderer(fmt: Format) -> Renderer:
    module_name, attr = RENDERERS[fmt].split(":")
    function: Renderer = getattr(importlib.import_module(module_name), attr)
    return function


def render(report: Report, fmt: Format, options: RenderOptions | None = None) -> str:
    return renderer(fmt)(report, options or RenderOptions())
