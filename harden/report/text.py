"""Showing untrusted text literally in a terminal.

Container names, labels, images and mount paths are chosen by whoever started the
container. Control characters (terminal escapes included), Unicode line separators and
bidirectional overrides are shown as escapes, never interpreted. (Rich markup such as
``[red]`` needs no escaping here: renderers build Text objects, never markup strings.)
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_INVISIBLE = frozenset(
    [
        *(0x2028, 0x2029, 0x200E, 0x200F, 0x061C, 0xFEFF),
        *range(0x202A, 0x202F),  # LRE RLE PDF LRO RLO
        *range(0x2066, 0x206A),  # LRI RLI FSI PDI
    ]
)


def shown(text: str, limit: int = 0) -> str:
    """``text`` safe for a terminal; ``limit`` > 0 shortens it with an ellipsis."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\x{code:02x}")
        elif code in _INVISIBLE or 0xDC80 <= code <= 0xDCFF:  # surrogate-escaped bytes too
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    result = "".join(out)
    if limit and len(result) > limit:
        return result[: limit - 1] + "…"
    return result
