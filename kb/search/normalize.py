"""Text normalization and tokenization shared by the search index and queries.

normalize():  NFKC (full-width -> half-width), lower case, Traditional -> Simplified (OpenCC),
              one canonical token per promotion name (双11/双十一/11.11/1111 -> 双11),
              buyer typos fixed, emoji/punctuation/control characters dropped.
tokens():     jieba segmentation with a compact dictionary (jieba's most frequent words plus
              kb's domain lexicon), filler words dropped, synonyms mapped to one canonical word.

The word lists are data files in kb/data/.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

JIEBA_TOP_WORDS = 60_000  # how many of jieba's own dictionary words the compact dictionary keeps
LEXICON_FREQ = 20_000  # frequency given to domain words so jieba keeps them whole


def _data_lines(name: str) -> list[str]:
    text = resources.files("kb").joinpath("data", name).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


DATA_FILES = ("lexicon.txt", "promo_names.tsv", "typos.tsv", "synonyms.tsv", "filler.txt", "boilerplate.txt",
              "oos_messages.txt")


def data_fingerprint() -> str:
    """Content of every data file the normalizer uses (part of the index cache key)."""
    return "\n".join("\n".join(_data_lines(n)) for n in DATA_FILES)


@lru_cache(maxsize=1)
def _boilerplate() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{ln})" for ln in _data_lines("boilerplate.txt")), re.IGNORECASE)


def clean_message(text: str) -> str:
    """A buyer message without what is not the question: links, order/phone/tracking numbers,
    platform boilerplate (咨询订单号: …, [图片], 人工客服 …). See kb/data/boilerplate.txt."""
    return _boilerplate().sub(" ", text)


@lru_cache(maxsize=1)
def _promo() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for ln in _data_lines("promo_names.tsv"):
        pattern, canon = ln.split("\t")
        out.append((re.compile(pattern), f" {canon} "))
    return out


@lru_cache(maxsize=1)
def _typos() -> tuple[re.Pattern[str], dict[str, str]]:
    table = dict(ln.split("\t") for ln in _data_lines("typos.tsv"))
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return pattern, table


@lru_cache(maxsize=1)
def synonyms() -> dict[str, str]:
    out: dict[str, str] = {}
    for ln in _data_lines("synonyms.tsv"):
        canon, variants = ln.split("\t")
        for v in variants.split():
            out[v] = canon
    return out


@lru_cache(maxsize=1)
def filler() -> frozenset[str]:
    return frozenset(_data_lines("filler.txt"))


@lru_cache(maxsize=1)
def oos_messages() -> list[str]:
    """Out-of-scope buyer messages: the negatives of the in-scope signal (kb.search.scope)."""
    return _data_lines("oos_messages.txt")


@lru_cache(maxsize=1)
def lexicon() -> list[str]:
    return _data_lines("lexicon.txt")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


# everything but letters, digits (Unicode categories L and N: what str.isalnum() means, and so
# what \w matches, less the underscore) and dots becomes a space
_DROP = re.compile(r"[^\w.]|_")


def normalize(text: str) -> str:
    """The canonical form of a buyer message or question (see module doc)."""
    text = unicodedata.normalize("NFKC", text).lower()
    if not text.isascii():
        # drop lone surrogates and other unencodable code points before OpenCC sees them
        text = text.encode("utf-8", "replace").decode("utf-8")
        text = _t2s().convert(text)
    for pattern, canon in _promo():
        text = pattern.sub(canon, text)
    pattern, table = _typos()
    text = pattern.sub(lambda m: table[m.group(0)], text)
    text = _DROP.sub(" ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # a dot only inside a number (11.11 is gone by now)
    return " ".join(text.split())


class Tokenizer:
    """jieba over a compact dictionary; freq is {word: count} with jieba's prefix entries."""

    def __init__(self, freq: dict[str, int], total: int):
        jieba = import_jieba()
        self._tk = jieba.Tokenizer()
        self._tk.FREQ = freq
        self._tk.total = total
        self._tk.initialized = True
        self._syn = synonyms()
        self._filler = filler()
        self.freq = freq
        self.total = total

    @staticmethod
    def build_freq(texts: list[str] = ()) -> tuple[dict[str, int], int]:
        """A compact jieba dictionary: jieba's most frequent words, every jieba word that occurs
        in texts (the bank's own questions and replies), and kb's domain words."""
        jieba = import_jieba()
        rows = []
        with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as f:
            for ln in f:
                parts = ln.split()
                if len(parts) >= 2:
                    rows.append((parts[0], int(parts[1])))
        rows.sort(key=lambda r: -r[1])
        words = dict(rows[:JIEBA_TOP_WORDS])
        full = dict(rows)
        found = {text[i:j] for text in texts for i in range(len(text))
                 for j in range(i + 2, min(i + 6, len(text)) + 1)}
        for w in found & full.keys():
            words[w] = full[w]
        extra = set(lexicon()) | set(synonyms()) | set(synonyms().values()) | {"双11", "双12", "618"}
        for w in extra:
            words[w] = max(words.get(w, 0), LEXICON_FREQ)
        freq: dict[str, int] = {}
        for w, n in words.items():
            freq[w] = n
            for i in range(1, len(w)):
                freq.setdefault(w[:i], 0)
        return freq, sum(words.values())

    def raw_tokens(self, normalized: str) -> list[str]:
        out = []
        for chunk in normalized.split():
            out.extend(t for t in self._tk.cut(chunk, HMM=False) if t.strip())
        return out

    def tokens(self, normalized: str) -> list[str]:
        """Meaningful tokens, synonyms mapped to their canonical word, filler dropped, in order. A
        text made of filler only (谢谢, 谢谢客服, 亲亲) keeps it: then the filler is what it says."""
        raw = self.raw_tokens(normalized)
        kept = [t for t in raw if t not in self._filler] or raw
        return [self._syn.get(t, t) for t in kept]

    def compact(self, normalized: str) -> str:
        """The meaningful tokens joined: the form fuzzy matching compares."""
        return "".join(self.tokens(normalized))

    def features(self, normalized: str) -> list[str]:
        """Words and character bigrams ('#' + two characters) used for scoring, each once."""
        return self.analyze(normalized)[0]

    def analyze(self, normalized: str) -> tuple[list[str], str]:
        """(features, compact form) of a normalized text, tokenized once.

        Features are words, character bigrams ('#' + two characters) and single Chinese characters
        ('#' + one character: 褪色 and 掉色 share 色, 券 and 劵 share nothing else), each once. Words are
        the tokens plus the dictionary words inside a longer token (电子发票 -> 电子, 发票),
        synonyms mapped; bigrams are taken over the text with filler removed, so that a different
        segmentation of the same characters (还有货 / 有货) still matches."""
        toks = self.tokens(normalized)
        words = list(toks)
        freq = self._tk.FREQ
        for t in toks:
            if len(t) > 2:
                for n in (2, 3):
                    for i in range(len(t) - n + 1):
                        sub = t[i:i + n]
                        if sub != t and freq.get(sub):
                            words.append(self._syn.get(sub, sub))
        bigrams = []
        for t in toks:
            if len(t) >= 2 and not t.isascii():
                bigrams.extend(t[i:i + 2] for i in range(len(t) - 1))
        joined = "".join(toks)
        bigrams.extend(joined[i:i + 2] for i in range(len(joined) - 1))
        feats = list(dict.fromkeys(words)) + ["#" + b for b in dict.fromkeys(bigrams) if not b.isascii()]
        feats.extend("#" + c for c in dict.fromkeys(joined) if "\u4e00" <= c <= "\u9fff")
        return feats, joined


def import_jieba():
    """Import jieba without its pkg_resources import (about 0.15 s of start-up we never use)."""
    if "jieba" in sys.modules:
        return sys.modules["jieba"]
    saved = sys.modules.get("pkg_resources", ...)
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # jieba falls back to open()
    try:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
    finally:
        if saved is ...:
            del sys.modules["pkg_resources"]
        else:
            sys.modules["pkg_resources"] = saved
    return jieba
