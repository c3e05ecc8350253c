"""Search: the right phrase for a buyer's message.

Design (see README, "How search works"):
  * every question (and the title) of every phrase is normalized and tokenized once, at index
    build time; the index is cached on disk, keyed by the content of the bank files, kb's
    version and its word lists, so a search process loads a pickle instead of jieba's
    dictionary and the YAML books;
  * candidate stage: an inverted index token -> phrases; the rarer query tokens choose the
    candidates (very common ones only add to the score), so cost grows with the postings of
    rare tokens, not with the size of the bank;
  * scoring, per candidate phrase: the best question by a mix of idf-weighted token overlap
    (F1 of query and question coverage) and rapidfuzz's character similarity, plus how much
    of the query the phrase's questions cover together;
  * a match is confident when its score reaches CONFIDENT (chosen on the public dev set and
    checked against held-out messages, see README).
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from .. import __version__
from ..bank.files import bank_files
from ..template import overlay, render
from .normalize import Tokenizer, data_fingerprint, normalize

INDEX_FORMAT = 5
CONFIDENT = 0.32  # score at or above which the top match is a confident answer (README: how it was chosen)
CANDIDATES = 25  # phrases fully scored per query
W_TOKENS, W_CHARS, W_PHRASE = 0.60, 0.40, 0.50
EVIDENCE = 6.0  # matched idf mass at which a match stops being penalized as thin
BIGRAM_WEIGHT = 0.5  # a character bigram counts half as much as a word of the same rarity
MAX_QUERY_CHARS = 2000
_COMMON_DF = 0.05
POSTINGS_BUDGET = 3000  # postings read per query in the candidate stage (rarest features first)  # a token in more than 5% of phrases does not choose candidates on its own

_notice_shown = False


@dataclass
class Match:
    id: str
    title: str
    shortcut: str | None
    book: str
    group: str
    score: float
    texts: list[tuple[str | None, str]]  # (step or None, raw reply text)
    question: str = ""  # the question that matched best

    def rendered(self, variables: dict[str, str]) -> list[tuple[str | None, str]]:
        return [(step, render(text, variables, keep_missing=True)) for step, text in self.texts]

    def reply_text(self, variables: dict[str, str]) -> str:
        parts = self.rendered(variables)
        if len(parts) == 1 and parts[0][0] is None:
            return parts[0][1]
        return "\n".join(f"【{step}】{text}" for step, text in parts)


@dataclass
class Result:
    query: str
    matches: list[Match]  # best first; the nearest candidates when not confident
    confident: bool

    @property
    def top(self) -> Match | None:
        return self.matches[0] if self.matches else None


@dataclass
class Index:
    phrases: list[dict]  # id, title, shortcut, book, group, texts
    questions: list[tuple[int, tuple[str, ...], str, str]]  # phrase, tokens, joined tokens, original
    by_phrase: list[list[int]]  # phrase -> its question indexes
    question_weight: list[float]  # total idf weight of each question's features
    postings: dict[str, list[int]]  # token -> phrases that use it
    phrase_tokens: list[frozenset[str]]
    idf: dict[str, float]
    shortcuts: dict[str, int]
    variables: dict[str, str]
    campaigns: dict[str, dict[str, str]]
    freq: dict[str, int]
    freq_total: int
    bank_name: str = ""
    bank_versions: dict[str, str] = field(default_factory=dict)
    _tokenizer: Tokenizer | None = field(default=None, repr=False, compare=False)

    # --- building ------------------------------------------------------------------------

    @classmethod
    def build(cls, bank) -> Index:  # bank: kb.model.Bank
        normalized: dict[str, str] = {}  # each text normalized once (questions are used twice below)
        for _, _, p in bank.phrases():
            for x in [*p.questions, p.title, *(st.text for st in p.steps())]:
                if x not in normalized:
                    normalized[x] = normalize(x)
        freq, total = Tokenizer.build_freq(list(normalized.values()))
        tk = Tokenizer(freq, total)
        phrases, questions, by_phrase, ptoks = [], [], [], []
        shortcuts: dict[str, int] = {}
        for bf, _, p in bank.phrases():
            pi = len(phrases)
            texts = [(st.name, st.text) for st in p.steps()]
            phrases.append({"id": p.id, "title": p.title, "shortcut": p.shortcut, "book": bf.book.name,
                            "group": p.group_of(bf.book), "texts": texts})
            if p.shortcut:
                shortcuts[p.shortcut] = pi
            mine = []
            seen = set()
            for q in [*p.questions, p.title]:
                norm = normalized[q]
                words, bigrams = tk.features(norm)
                feats = tuple(words + bigrams)
                if not feats or feats in seen:
                    continue
                seen.add(feats)
                mine.append(len(questions))
                questions.append((pi, feats, "".join(tk.tokens(norm)), q))
            by_phrase.append(mine)
            ptoks.append(frozenset(t for qi in mine for t in questions[qi][1]))
        postings: dict[str, list[int]] = {}
        for pi, toks in enumerate(ptoks):
            for t in toks:
                postings.setdefault(t, []).append(pi)
        n = max(len(phrases), 1)
        idf = {t: math.log(1 + n / len(ps)) * (BIGRAM_WEIGHT if t[0] == "#" else 1.0)
               for t, ps in postings.items()}
        qweight = [sum(idf[t] for t in set(q[1])) for q in questions]
        return cls(phrases=phrases, questions=questions, by_phrase=by_phrase, question_weight=qweight,
                   postings=postings,
                   phrase_tokens=ptoks, idf=idf, shortcuts=shortcuts, variables=dict(bank.manifest.vars),
                   campaigns={k: dict(c.vars) for k, c in bank.manifest.campaigns.items()},
                   freq=freq, freq_total=total, bank_name=bank.manifest.name,
                   bank_versions={bf.book.name: bf.book.version for bf in bank.books})

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(self.freq, self.freq_total)
        return self._tokenizer

    def variables_for(self, campaign: str | None) -> dict[str, str]:
        return overlay(self.variables, self.campaigns, campaign)

    # --- searching -----------------------------------------------------------------------

    def _weight(self, t: str) -> float:
        w = self.idf.get(t)
        if w is not None:
            return w
        # a feature the bank never uses: as informative as the rarest one
        return math.log(1 + len(self.phrases)) * (BIGRAM_WEIGHT if t[0] == "#" else 1.0)

    def search(self, query: str, k: int = 3, threshold: float = CONFIDENT) -> Result:
        norm = normalize(query[:MAX_QUERY_CHARS])
        compact = norm.replace(" ", "")
        if compact in self.shortcuts:  # an agent typed a Qianniu code
            return Result(query, [self._match(self.shortcuts[compact], 1.0, "")], True)
        words, bigrams = self.tokenizer.features(norm)
        feats = words + bigrams
        if not words:
            return Result(query, [], False)
        weights = {t: self._weight(t) for t in feats}
        total_w = sum(weights.values())
        # candidate stage: rare features choose candidates, common ones only add to scores
        n = len(self.phrases)
        known = sorted((t for t in feats if t in self.postings), key=lambda t: len(self.postings[t]))
        limit = max(50, int(n * _COMMON_DF))
        cover: dict[int, float] = {}
        visited = 0
        for i, t in enumerate(known):
            ps = self.postings[t]
            if i > 0 and (len(ps) > limit or visited > POSTINGS_BUDGET):
                break
            visited += len(ps)
            w = weights[t]
            for pi in ps:
                cover[pi] = cover.get(pi, 0.0) + w
        if not cover:
            return Result(query, [], False)
        cands = sorted(cover, key=cover.__getitem__, reverse=True)[:CANDIDATES]
        qset = set(feats)
        qstr = "".join(self.tokenizer.tokens(norm))
        scored = []
        for pi in cands:
            ptok = self.phrase_tokens[pi]
            phrase_cov = sum(w for t, w in weights.items() if t in ptok) / total_w
            best, best_q, best_tok = 0.0, "", 0.0
            for qi in self.by_phrase[pi]:
                _, dfeats, dstr, orig = self.questions[qi]
                common = qset.intersection(dfeats)
                if common:
                    mw = sum(weights[t] for t in common)
                    cq = mw / total_w
                    cd = mw / self.question_weight[qi]
                    tok = 2 * cq * cd / (cq + cd)
                else:
                    tok = 0.0
                chars = fuzz.ratio(qstr, dstr) / 100.0
                sim = W_TOKENS * tok + W_CHARS * chars
                best_tok = max(best_tok, tok)
                if sim > best:
                    best, best_q = sim, orig
            score = (best + W_PHRASE * phrase_cov) / (1 + W_PHRASE)
            # absolute evidence: a match on only generic words (怎么, 今天, 买) is not an answer
            evidence = sum(w for t, w in weights.items() if t in ptok)
            # (a message that is one of the phrase's questions is never thin)
            score *= min(1.0, max(evidence / EVIDENCE, best_tok))
            scored.append((score, pi, best_q))
        scored.sort(key=lambda x: (-x[0], x[1]))
        matches = [self._match(pi, sc, q) for sc, pi, q in scored[:k]]
        confident = bool(matches) and matches[0].score >= threshold
        return Result(query, matches, confident)

    def _match(self, pi: int, score: float, question: str) -> Match:
        p = self.phrases[pi]
        return Match(id=p["id"], title=p["title"], shortcut=p["shortcut"], book=p["book"], group=p["group"],
                     score=round(score, 4), texts=[tuple(x) for x in p["texts"]], question=question)


# --- the on-disk cache ---------------------------------------------------------------------


def cache_dir() -> Path:
    env = os.environ.get("KB_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("kb", appauthor=False))


def bank_key(root: Path) -> str:
    h = hashlib.sha256()
    h.update(f"kb {__version__} index {INDEX_FORMAT}\n".encode())
    h.update(data_fingerprint().encode("utf-8"))
    for code in ("index.py", "normalize.py"):  # an index built by other code is another index
        h.update((Path(__file__).parent / code).read_bytes())
    for p in bank_files(root):
        h.update(b"\0" + str(p.relative_to(root)).encode("utf-8", "surrogateescape") + b"\0")
        try:
            h.update(p.read_bytes())
        except OSError:
            h.update(b"<unreadable>")
    return h.hexdigest()[:32]


def _notice(msg: str) -> None:
    global _notice_shown
    if not _notice_shown:
        _notice_shown = True
        print(f"kb: {msg}", file=sys.stderr)


def load_index(root: Path, *, use_cache: bool = True) -> Index:
    """The search index of a bank: from the cache when the bank is unchanged, else built (and cached)."""
    key = bank_key(root)
    path = cache_dir() / f"index-{key}.pickle"
    if use_cache and path.is_file():
        try:
            with open(path, "rb") as f:
                data = pickle.load(f)
            if isinstance(data, dict) and data.get("format") == INDEX_FORMAT and data.get("key") == key:
                return data["index"]
        except Exception:  # corrupt, truncated or from another kb: rebuild
            pass
        _notice("search index cache was unreadable; rebuilt it")
    from ..bank.load import open_bank

    bank, _ = open_bank(root)
    index = Index.build(bank)
    if use_cache:
        _save(path, key, index)
    return index


def _save(path: Path, key: str, index: Index) -> None:
    import tempfile
    import time

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("index-*.pickle"):  # keep the folder from growing
            if old != path and old.stat().st_mtime < time.time() - 7 * 86400:
                old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".index-", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            pickle.dump({"format": INDEX_FORMAT, "key": key, "index": index}, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as e:
        _notice(f"cannot write the search index cache ({e.strerror}): searching without it")
