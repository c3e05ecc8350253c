"""kb.bank.chars skips texts that str.isprintable() clears: that is only safe while every unsafe
character (categories Cc, Cf, Zl, Zp) is non-printable — checked on every code point."""

import sys
import unicodedata

from kb.bank.chars import UNSAFE_CATEGORIES, unsafe_chars


def test_every_unsafe_character_is_non_printable():
    hidden = [c for c in range(sys.maxunicode + 1) if chr(c) not in "\n\t"
              and unicodedata.category(chr(c)) in UNSAFE_CATEGORIES and chr(c).isprintable()]
    assert hidden == []


def test_fast_path_still_finds_what_hides_in_chinese_text():
    assert list(unsafe_chars("亲，您好\n欢迎光临")) == []
    assert list(unsafe_chars("亲，您好\u202e欢迎光临")) == [(4, "\u202e")]
    assert list(unsafe_chars("亲\u200b您好")) == [(1, "\u200b")]
