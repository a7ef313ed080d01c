"""Showing untrusted text literally in a terminal.

Container names, labels, images and mount paths are chosen by whoever started the
container. Control characters (terminal escapes included), Unicode line separators and
bidirectional overrides are shown as escapes, never interpreted; so are lone surrogates
and noncharacters (U+FFFE, U+FFFF), which no UTF-8 output and no XML document can hold.
(Rich markup such as ``[red]`` needs no escaping here: renderers build Text objects,
never markup strings.)
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


def _noncharacter(code: int) -> bool:
    """U+FFFE, U+FFFF (and their kin in every plane), U+FDD0..U+FDEF: not text, and not
    allowed in XML."""
    return code & 0xFFFE == 0xFFFE or 0xFDD0 <= code <= 0xFDEF


def shown(text: str, limit: int = 0) -> str:
    """``text`` safe for a terminal; ``limit`` > 0 shortens it with an ellipsis."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\x{code:02x}")
        elif code in _INVISIBLE or 0xD800 <= code <= 0xDFFF or _noncharacter(code):
            # lone surrogates (undecodable bytes too)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    result = "".join(out)
    if limit and len(result) > limit:
        return result[: limit - 1] + "…"
    return result
