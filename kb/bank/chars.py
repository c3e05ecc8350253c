"""Invisible characters that can hide, reorder or forge text: control characters (ESC, BEL, CR …),
format characters (bidi overrides and isolates RLO/LRO/PDF/LRI/RLI/FSI/PDI, zero-width spaces and
joiners, BOM) and the Unicode line/paragraph separators. Line feed and tab are ordinary text.

One definition for everything: validate reports them with their position, lint's hygiene flags
them, and every terminal or JSON output shows them escaped (``escape``) instead of raw.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "BACKSPACE", "\x1b": "ESC", "\r": "CARRIAGE RETURN",
          "\x7f": "DEL", "\x85": "NEXT LINE"}
_ASCII_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def is_unsafe(ch: str) -> bool:
    return ch not in "\n\t" and unicodedata.category(ch) in UNSAFE_CATEGORIES


def char_name(ch: str) -> str:
    return _NAMES.get(ch) or unicodedata.name(ch, "") or "CONTROL"


def unsafe_chars(text: str) -> Iterator[tuple[int, str]]:
    """(index, character) of every unsafe character in text."""
    if text.isascii():
        for m in _ASCII_CONTROL.finditer(text):
            yield m.start(), m.group()
        return
    if text.replace("\n", "").replace("\t", "").isprintable():
        return  # every unsafe category (Cc, Cf, Zl, Zp) is non-printable: nothing to find
    cat = unicodedata.category
    for i, ch in enumerate(text):
        if ch < " " or ch >= "\x7f":
            if ch not in "\n\t" and cat(ch) in UNSAFE_CATEGORIES:
                yield i, ch


def escape_char(ch: str) -> str:
    n = ord(ch)
    if n > 0xFFFF:  # as a UTF-16 surrogate pair: valid in JSON strings, readable in text
        n -= 0x10000
        return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"
    return f"\\u{n:04x}"


def escape(text: str) -> str:
    """text with every unsafe character written as a \\uXXXX escape (valid inside a JSON string,
    visible on a terminal); line feeds and tabs are kept."""
    found = dict(unsafe_chars(text))
    if not found:
        return text
    return "".join(escape_char(ch) if i in found else ch for i, ch in enumerate(text))


def describe(text: str, what: str) -> Iterator[str]:
    """One message per unsafe character: what it is and where in the text (line and column for a
    multi-line text, else the character number)."""
    for i, ch in unsafe_chars(text):
        line = text.count("\n", 0, i) + 1
        col = i - (text.rfind("\n", 0, i) + 1) + 1
        where = f"line {line}, character {col} of the {what}" if "\n" in text else f"character {col} of the {what}"
        yield (f"invisible control character U+{ord(ch):04X} ({char_name(ch)}) at {where}: it can hide, "
               "reorder or forge what the agent and the buyer see; delete it")
