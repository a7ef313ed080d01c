"""Showing untrusted text literally in a terminal.

Container names, labels, images and mount paths are chosen by whoever started the
container. Control characters (terminal escapes included), Unicode line separators and
bidirectional overrides are shown as escapes, never interpreted; so are lone surrogates
and noncharacters (U+FFFE, U+FFFF), which no UTF-8 output and no XML document can hold.
(Rich markup such as ``[red]`` needs no escaping here: renderers build Text objects,
never markup strings.)
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_INVISIBLE = frozenset(
    [
        *(0x2028, 0x2029, 0x200E, 0x200F, 0x061C, 0xFEFF),
        *range(0x202A, 0x202F),  # LRE RLE PDF LRO RLO
        *range(0x2066, 0x206A),  # LRI RLI FSI PDI
    ]
)


# Every character shown as an escape, as one class: most text has none, and a search is
# far cheaper than a loop over the characters (the SARIF of 10,000 manifests shows
# hundreds of thousands of strings).
_UNSAFE = re.compile(
    "["
    + "".join(re.escape(ch) for ch in _NAMED)
    + "\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff"
    # noncharacters, not text and not allowed in XML: U+FDD0..U+FDEF, U+xFFFE, U+xFFFF
    + "\\ufdd0-\\ufdef"
    + "".join(f"\\U{code:08x}" for code in sorted(_INVISIBLE))
    + "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(0x11))
    + "]"
)


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def shown(text: str, limit: int = 0) -> str:
    """``text`` safe for a terminal; ``limit`` > 0 shortens it with an ellipsis."""
    result = _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text
    if limit and len(result) > limit:
        return result[: limit - 1] + "…"
    return result
