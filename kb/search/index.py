"""The search index: every phrase as one document with fields, as plain data.

Building (``Index.build``): each phrase's texts are normalized and tokenized once into
features — jieba words and CJK character bigrams — per field: its questions, its title, its
reply (or flow steps) and its tags. The BM25F contribution of every (feature, phrase) pair is
computed at build time (``kb.search.scoring.field_weights``), so a query only adds up numbers
from postings. The index is plain lists, dicts and numbers; ``kb.search.store`` writes it to an
SQLite file for the cache and reads it back lazily.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..template import overlay, render
from . import likelihood
from .normalize import Tokenizer, clean_message, normalize, oos_messages

FORMAT = 13  # bump when the data layout or the features change
FIELDS = ("questions", "title", "reply", "tags")
TABLE_GRAMS = 300_000  # naive-Bayes table entries kept per process (about 30 MB; the bundled bank needs ~100k)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Building or writing an index makes millions of small lists, tuples and dicts and no reference
    cycles: Python's cycle collector would only rescan them, again and again (a third of the time of a
    10k-phrase build, half of its cache write), so it is paused meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Match:
    id: str
    title: str
    shortcut: str | None
    book: str
    group: str
    score: float
    texts: list[tuple[str | None, str]]  # (step or None, raw reply text)
    question: str = ""  # the question of the phrase closest to the message
    clause: str = ""  # the part of the message this match answers, when a message asks two things
    evidence: float = 0.0  # the BM25F score in units of one good word of the bank (scoring.Signals)

    def rendered(self, variables: dict[str, str]) -> list[tuple[str | None, str]]:
        return [(step, render(text, variables, keep_missing=True)) for step, text in self.texts]

    def reply_text(self, variables: dict[str, str]) -> str:
        parts = self.rendered(variables)
        if len(parts) == 1 and parts[0][0] is None:
            return parts[0][1]
        return "\n".join(f"【{step}】{text}" for step, text in parts)


OUTCOMES = ("confident", "ambiguous", "none")


@dataclass
class Result:
    """What search found: ``outcome`` is confident (one answer), ambiguous (the first matches
    are all close: show them as candidates) or none (nothing fits; matches are the nearest)."""

    query: str
    matches: list[Match]
    outcome: str = "none"
    also: list[Match] = field(default_factory=list)  # a second question in the same message
    close: int = 0  # ambiguous: how many of the first matches are close candidates

    @property
    def confident(self) -> bool:
        return self.outcome == "confident"

    @property
    def top(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def candidates(self) -> int:
        """How many of the matches the outcome stands for (1 when confident, all when ambiguous)."""
        if self.outcome == "confident":
            return 1
        return min(self.close, len(self.matches)) if self.outcome == "ambiguous" else 0


@dataclass
class Index:
    phrases: list[dict]  # id, title, shortcut, book, group, texts
    questions: list[list[str]]  # per phrase: its questions as normalized compact strings
    postings: dict[str, list]  # feature -> [(phrase, contribution), ...]
    idf: dict[str, float]
    shortcuts: dict[str, int]
    variables: dict[str, str]
    campaigns: dict[str, dict]  # name -> {title, start, end, aliases, vars}
    freq: dict[str, int]
    freq_total: int
    bank_name: str = ""
    bank_versions: dict[str, str] = field(default_factory=dict)
    problems: list[dict] = field(default_factory=list)  # load problems of the bank it was built from
    root: str = ""
    unit: float = 1.0  # what one good word contributes in this bank (scoring.field_weights)
    cohesion: list[float] = field(default_factory=list)  # per phrase: how alike its questions are (scoring.cohesions)
    scope_table: dict[str, float] = field(default_factory=dict)  # gram -> in-scope log-odds (kb.search.scope)
    gram_vocab: int = 1  # distinct character grams of the questions (kb.search.likelihood)
    key: str = ""
    _tokenizer: Tokenizer | None = field(default=None, repr=False, compare=False)
    _common: dict[str, dict[int, float]] = field(default_factory=dict, repr=False, compare=False)
    _tables: dict[int, tuple[dict[str, float], float]] = field(default_factory=dict, repr=False, compare=False)
    _table_grams: int = field(default=0, repr=False, compare=False)  # entries in _tables

    # --- building ------------------------------------------------------------------------

    @classmethod
    @cycle_collector_paused()
    def build(cls, bank, problems=(), *, tokenizer: Tokenizer | None = None,
              skip: frozenset[tuple[str, int]] = frozenset()) -> Index:
        """Index a kb.model.Bank. ``skip`` leaves out (phrase id, question number) pairs
        (cross-validation); ``tokenizer`` reuses a dictionary already built."""
        from .scope import table as scope_table_of
        from .scoring import cohesions, field_weights

        norm: dict[str, str] = {}  # each distinct text normalized once
        for _, _, p in bank.phrases():
            for x in (*p.questions, p.title, *(st.text for st in p.steps()), " ".join(p.tags)):
                if x not in norm:
                    norm[x] = normalize(x)
        if tokenizer is None:
            tokenizer = Tokenizer(*Tokenizer.build_freq(list(set(norm.values()))))
        tk = tokenizer
        memo: dict[str, tuple[list[str], str]] = {}

        def ana(text: str) -> tuple[list[str], str]:  # each distinct text analyzed once
            if text not in memo:
                memo[text] = tk.analyze(norm[text])
            return memo[text]

        phrases, questions, docs = [], [], []
        shortcuts: dict[str, int] = {}
        for bf, _, p in bank.phrases():
            pi = len(phrases)
            phrases.append({"id": p.id, "title": p.title, "shortcut": p.shortcut, "book": bf.book.name,
                            "group": p.group_of(bf.book), "texts": [[st.name, st.text] for st in p.steps()]})
            if p.shortcut:
                shortcuts[p.shortcut] = pi
            qs = [q for qi, q in enumerate(p.questions) if (p.id, qi) not in skip]
            analyzed = [ana(q) for q in qs]
            doc = {
                "questions": [f for f, _ in analyzed],
                "title": [ana(p.title)[0]],
                "reply": [ana(st.text)[0] for st in p.steps()],
                "tags": [ana(" ".join(p.tags))[0]] if p.tags else [],
            }
            docs.append(doc)
            questions.append(list(dict.fromkeys(c for _, c in analyzed)))
        postings, idf, unit = field_weights(docs)
        negatives = [tk.compact(normalize(clean_message(m))) for m in oos_messages()]
        scope_table = scope_table_of((q for qs in questions for q in qs), negatives)
        campaigns = {k: {"title": c.title, "start": c.start.isoformat(), "end": c.end.isoformat(),
                         "aliases": list(getattr(c, "aliases", None) or []), "vars": dict(c.vars)}
                     for k, c in bank.manifest.campaigns.items()}
        return cls(phrases=phrases, questions=questions, postings=postings, idf=idf, shortcuts=shortcuts,
                   variables=dict(bank.manifest.vars), campaigns=campaigns, freq=tk.freq, freq_total=tk.total,
                   bank_name=bank.manifest.name,
                   bank_versions={bf.book.name: bf.book.version for bf in bank.books},
                   problems=[_problem(p) for p in problems], root=str(bank.root), unit=unit,
                   cohesion=cohesions(questions), scope_table=scope_table,
                   gram_vocab=likelihood.vocabulary([q for qs in questions for q in qs]))

    # --- using -----------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(self.freq, self.freq_total)
        return self._tokenizer

    def campaign(self, requested: str | None, today=None) -> str | None:
        """The campaign in force: requested by name or alias, 'none', else the one whose dates
        cover today (kb.template.resolve_campaign)."""
        from datetime import date

        from ..template import resolve_campaign, today_from_env

        table = {k: {"start": date.fromisoformat(c["start"]), "end": date.fromisoformat(c["end"]),
                     "aliases": c.get("aliases", [])} for k, c in self.campaigns.items()}
        return resolve_campaign(table, requested, today if today is not None else today_from_env())

    def variables_for(self, campaign: str | None) -> dict[str, str]:
        """The reply variables for a campaign name already resolved (None: normal time)."""
        return overlay(self.variables, {k: c["vars"] for k, c in self.campaigns.items()}, campaign)

    def scope_weights(self, grams: list[str]) -> dict[str, float]:
        """The in-scope log-odds of those grams that have one (kb.search.scope)."""
        t = self.scope_table
        return {g: t[g] for g in grams if g in t}

    def likelihood_table(self, pi: int) -> tuple[dict[str, float], float]:
        """A phrase's naive-Bayes gram table (kb.search.likelihood), built when a search first needs it."""
        t = self._tables.get(pi)
        if t is None:
            t = likelihood.table(self.questions[pi], self.gram_vocab)
            if self._table_grams + len(t[0]) > TABLE_GRAMS:  # a long run over a very large bank: memory stays bounded
                self._tables.clear()
                self._table_grams = 0
            self._tables[pi] = t
            self._table_grams += len(t[0])
        return t

    def lookup(self, feature: str) -> tuple[float, list] | None:
        """(idf, postings) of a feature, None when no phrase uses it."""
        ps = self.postings.get(feature)
        return None if ps is None else (self.idf[feature], ps)

    def search(self, query: str, k: int = 3) -> Result:
        import sqlite3

        from .scoring import search

        try:
            return search(self, query, k)
        except sqlite3.DatabaseError as e:  # a cache file damaged after it was opened
            from ..errors import KbError

            raise KbError(f"the search index cache is damaged ({e}): run again with --no-cache, or "
                          "delete the cache folder") from None

    def match(self, pi: int, score: float, question: str = "", clause: str = "", evidence: float = 0.0) -> Match:
        """A result row: score orders the matches of one search (1.0 for a shortcut typed exactly)."""
        p = self.phrases[pi]
        return Match(id=p["id"], title=p["title"], shortcut=p["shortcut"], book=p["book"], group=p["group"],
                     score=round(score, 4), texts=[(s, t) for s, t in p["texts"]], question=question,
                     clause=clause, evidence=round(evidence, 3))



def _problem(p) -> dict:
    return {"path": p.path, "line": p.line, "col": p.col, "message": p.message, "phrase_id": p.phrase_id}


def idf_of(df: int, n: int) -> float:
    """BM25's idf, floored so that a feature in most phrases still counts a little."""
    return max(math.log(1 + (n - df + 0.5) / (df + 0.5)), 0.01)
